// ModelConfig: camelCase mirror of a Hugging Face LlamaForCausalLM / Qwen2ForCausalLM config.json.
// Field meanings follow transformers' LlamaConfig; validateModelConfig gives one clear error per bad field.

/** llama3 rope scaling (Llama 3.1): low frequencies are divided by `factor`, high ones kept, smooth in between. */
export interface RopeScaling {
  ropeType: 'llama3';
  factor: number; // how much longer the context is than the original
  lowFreqFactor: number; // wavelengths above originalMax / lowFreqFactor are fully scaled
  highFreqFactor: number; // wavelengths below originalMax / highFreqFactor are kept
  originalMaxPositionEmbeddings: number; // context length the model was pretrained with
}

export interface ModelConfig {
  modelType: 'llama' | 'qwen2'; // HF architecture family (Qwen2 = Llama + qkv bias)
  vocabSize: number; // rows of the embedding and the lm_head
  hiddenSize: number; // residual stream width d
  intermediateSize: number; // SwiGLU hidden width
  numHiddenLayers: number; // transformer blocks
  numAttentionHeads: number; // query heads
  numKeyValueHeads: number; // key/value heads (GQA); divides numAttentionHeads
  headDim?: number; // per-head width; default hiddenSize / numAttentionHeads
  maxPositionEmbeddings: number; // longest sequence the RoPE tables are built for
  rmsNormEps: number; // epsilon inside RMSNorm's square root
  ropeTheta: number; // RoPE base frequency
  ropeScaling?: RopeScaling | null; // null/absent: plain RoPE
  attentionBias: boolean; // q/k/v projections carry a bias (Qwen2)
  tieWordEmbeddings: boolean; // lm_head shares the embedding matrix
  bosTokenId?: number;
  eosTokenId?: number | number[];
  padTokenId?: number;
}

/** Per-head width: headDim when given, else hiddenSize / numAttentionHeads. */
export function headDimOf(c: ModelConfig): number {
  return c.headDim ?? c.hiddenSize / c.numAttentionHeads;
}

/** EOS ids as an array (empty when none). */
export function eosIdsOf(c: ModelConfig): number[] {
  if (c.eosTokenId === undefined || c.eosTokenId === null) return [];
  return Array.isArray(c.eosTokenId) ? c.eosTokenId : [c.eosTokenId];
}

function posInt(name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new Error(`${name}: must be an integer >= 1, got ${String(v)}`);
  }
}

function posNum(name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new Error(`${name}: must be a finite number > 0, got ${String(v)}`);
  }
}

/** Throws an Error naming the first invalid field; returns the config unchanged otherwise. */
export function validateModelConfig(c: ModelConfig): ModelConfig {
  if (c.modelType !== 'llama' && c.modelType !== 'qwen2') {
    throw new Error(`modelType: must be 'llama' or 'qwen2', got ${String(c.modelType)}`);
  }
  posInt('vocabSize', c.vocabSize);
  posInt('hiddenSize', c.hiddenSize);
  posInt('intermediateSize', c.intermediateSize);
  posInt('numHiddenLayers', c.numHiddenLayers);
  posInt('numAttentionHeads', c.numAttentionHeads);
  posInt('numKeyValueHeads', c.numKeyValueHeads);
  posInt('maxPositionEmbeddings', c.maxPositionEmbeddings);
  posNum('rmsNormEps', c.rmsNormEps);
  posNum('ropeTheta', c.ropeTheta);
  if (c.numAttentionHeads % c.numKeyValueHeads !== 0) {
    throw new Error(
      `numKeyValueHeads: must divide numAttentionHeads (${c.numAttentionHeads}), got ${c.numKeyValueHeads}`,
    );
  }
  if (c.headDim !== undefined) posInt('headDim', c.headDim);
  else if (c.hiddenSize % c.numAttentionHeads !== 0) {
    throw new Error(
      `hiddenSize: must be divisible by numAttentionHeads (${c.numAttentionHeads}) when headDim is absent, got ${c.hiddenSize}`,
    );
  }
  if (headDimOf(c) % 2 !== 0) throw new Error(`headDim: must be even for RoPE, got ${headDimOf(c)}`);
  if (typeof c.attentionBias !== 'boolean') throw new Error(`attentionBias: must be a boolean, got ${String(c.attentionBias)}`);
  if (typeof c.tieWordEmbeddings !== 'boolean') {
    throw new Error(`tieWordEmbeddings: must be a boolean, got ${String(c.tieWordEmbeddings)}`);
  }
  if (c.ropeScaling) {
    const s = c.ropeScaling;
    if (s.ropeType !== 'llama3') throw new Error(`ropeScaling.ropeType: only 'llama3' is supported, got ${String(s.ropeType)}`);
    posNum('ropeScaling.factor', s.factor);
    posNum('ropeScaling.lowFreqFactor', s.lowFreqFactor);
    posNum('ropeScaling.highFreqFactor', s.highFreqFactor);
    posInt('ropeScaling.originalMaxPositionEmbeddings', s.originalMaxPositionEmbeddings);
    if (s.highFreqFactor <= s.lowFreqFactor) {
      throw new Error(`ropeScaling.highFreqFactor: must be > lowFreqFactor (${s.lowFreqFactor}), got ${s.highFreqFactor}`);
    }
  }
  for (const id of eosIdsOf(c)) {
    if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) {
      throw new Error(`eosTokenId: must be integers in [0, ${c.vocabSize}), got ${String(id)}`);
    }
  }
  return c;
}
