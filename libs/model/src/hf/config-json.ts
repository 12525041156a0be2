// Hugging Face config.json (LlamaConfig / Qwen2Config of transformers) <-> ModelConfig.
// Unknown HF fields are kept by the caller (the raw JSON) and merged back on save.
import { validateModelConfig, type ModelConfig } from '../config.ts';

export class HfConfigError extends Error {
  override name = 'HfConfigError';
  readonly code = 'unsupported_config';
  readonly retryable = false;
}

const ARCHITECTURES = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM' } as const;

type Json = Record<string, unknown>;

function num(raw: Json, key: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number') throw new HfConfigError(`config.json: ${key} must be a number, got ${JSON.stringify(raw[key])}`);
  return v;
}

function optId(raw: Json, key: string): number | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number') throw new HfConfigError(`config.json: ${key} must be an integer or null, got ${JSON.stringify(v)}`);
  return v;
}

/** Parse a config.json object (Llama or Qwen2 family) into a validated ModelConfig. */
export function modelConfigFromHf(raw: unknown): ModelConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new HfConfigError('config.json: must be a JSON object');
  const c = raw as Json;
  const modelType = c.model_type;
  if (modelType !== 'llama' && modelType !== 'qwen2') {
    throw new HfConfigError(`config.json: model_type must be 'llama' or 'qwen2', got ${JSON.stringify(modelType)}`);
  }
  const act = c.hidden_act ?? 'silu';
  if (act !== 'silu') throw new HfConfigError(`config.json: hidden_act must be 'silu' (SwiGLU), got ${JSON.stringify(act)}`);
  if (c.mlp_bias === true) throw new HfConfigError('config.json: mlp_bias true is not supported');
  if (modelType === 'qwen2' && c.use_sliding_window === true) {
    throw new HfConfigError('config.json: use_sliding_window true is not supported (full attention only)');
  }
  // transformers >= 4.56 may move rope settings into `rope_parameters`.
  const ropeParams = (c.rope_parameters ?? null) as Json | null;
  const rs = (c.rope_scaling ?? (ropeParams && ropeParams.rope_type !== 'default' ? ropeParams : null)) as Json | null;
  let ropeScaling: ModelConfig['ropeScaling'] = null;
  if (rs) {
    const type = rs.rope_type ?? rs.type;
    if (type !== 'llama3') throw new HfConfigError(`config.json: rope_scaling type must be 'llama3' (or absent), got ${JSON.stringify(type)}`);
    ropeScaling = {
      ropeType: 'llama3',
      factor: num(rs, 'factor'),
      lowFreqFactor: num(rs, 'low_freq_factor'),
      highFreqFactor: num(rs, 'high_freq_factor'),
      originalMaxPositionEmbeddings: num(rs, 'original_max_position_embeddings'),
    };
  }
  const numAttentionHeads = num(c, 'num_attention_heads');
  const eos = c.eos_token_id;
  if (eos !== undefined && eos !== null && typeof eos !== 'number' && !(Array.isArray(eos) && eos.every((e) => typeof e === 'number'))) {
    throw new HfConfigError(`config.json: eos_token_id must be an integer, a list of integers or null, got ${JSON.stringify(eos)}`);
  }
  const config: ModelConfig = {
    modelType,
    vocabSize: num(c, 'vocab_size'),
    hiddenSize: num(c, 'hidden_size'),
    intermediateSize: num(c, 'intermediate_size'),
    numHiddenLayers: num(c, 'num_hidden_layers'),
    numAttentionHeads,
    numKeyValueHeads: num(c, 'num_key_value_heads', numAttentionHeads),
    maxPositionEmbeddings: num(c, 'max_position_embeddings', 2048),
    rmsNormEps: num(c, 'rms_norm_eps', 1e-6),
    ropeTheta: typeof c.rope_theta === 'number' ? c.rope_theta : ropeParams && typeof ropeParams.rope_theta === 'number' ? ropeParams.rope_theta : 10000,
    ropeScaling,
    attentionBias: modelType === 'qwen2' ? true : c.attention_bias === true,
    tieWordEmbeddings: c.tie_word_embeddings === true,
  };
  if (c.head_dim !== undefined && c.head_dim !== null) config.headDim = num(c, 'head_dim');
  const bos = optId(c, 'bos_token_id');
  if (bos !== undefined) config.bosTokenId = bos;
  if (eos !== undefined && eos !== null) config.eosTokenId = eos as number | number[];
  const pad = optId(c, 'pad_token_id');
  if (pad !== undefined) config.padTokenId = pad;
  try {
    return validateModelConfig(config);
  } catch (err) {
    throw new HfConfigError(`config.json: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * ModelConfig -> config.json object. `base` (the raw JSON read from disk) keeps fields we do not model
 * (torch_dtype, transformers_version, ...); ours override. `torchDtype` records the weights' dtype.
 */
export function modelConfigToHf(config: ModelConfig, base: Json = {}, torchDtype?: 'float32' | 'float16' | 'bfloat16'): Json {
  validateModelConfig(config);
  const out: Json = {
    ...base,
    architectures: [ARCHITECTURES[config.modelType]],
    model_type: config.modelType,
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numHiddenLayers,
    num_attention_heads: config.numAttentionHeads,
    num_key_value_heads: config.numKeyValueHeads,
    max_position_embeddings: config.maxPositionEmbeddings,
    rms_norm_eps: config.rmsNormEps,
    rope_theta: config.ropeTheta,
    rope_scaling: config.ropeScaling
      ? {
          rope_type: 'llama3',
          factor: config.ropeScaling.factor,
          low_freq_factor: config.ropeScaling.lowFreqFactor,
          high_freq_factor: config.ropeScaling.highFreqFactor,
          original_max_position_embeddings: config.ropeScaling.originalMaxPositionEmbeddings,
        }
      : null,
    hidden_act: 'silu',
    tie_word_embeddings: config.tieWordEmbeddings,
  };
  delete out.rope_parameters;
  if (config.modelType === 'llama') {
    out.attention_bias = config.attentionBias;
    out.mlp_bias = false;
  } else if (!config.attentionBias) {
    throw new HfConfigError('attentionBias: qwen2 always has q/k/v bias, got false');
  }
  if (config.headDim !== undefined) out.head_dim = config.headDim;
  for (const [key, value] of [
    ['bos_token_id', config.bosTokenId],
    ['eos_token_id', config.eosTokenId],
    ['pad_token_id', config.padTokenId],
  ] as const) {
    if (value !== undefined) out[key] = value;
  }
  if (torchDtype) out.torch_dtype = torchDtype;
  return out;
}
