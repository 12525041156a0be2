// Parameter shapes of a Llama-family model from its config alone (no weights), Hugging Face
// LlamaForCausalLM naming; input to `peft plan` and to every method's parameter formula.
import { modelConfigFromHf, validateModelConfig, type ModelConfig } from '@tuneloop/model';

/** The ModelConfig fields the shapes depend on (a structural subset of @tuneloop/model's ModelConfig). */
export interface ShapeConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim?: number;
  attentionBias: boolean;
  tieWordEmbeddings: boolean;
}

export interface LinearShape {
  name: string; // HF module path
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
}

export interface ModelShapes {
  linears: LinearShape[];
  /** Non-linear parameters (embeddings, norms): name and element count. */
  others: { name: string; numel: number }[];
}

/** One row of a plan: a base module (or adapter-only tensor group), what trains, and all its parameters. */
export interface PlanRow {
  module: string;
  trainable: number;
  total: number;
}

export function linearNumel(l: LinearShape): number {
  return l.inFeatures * l.outFeatures + (l.bias ? l.outFeatures : 0);
}

/** Shapes of LlamaForCausalLM / Qwen2ForCausalLM. */
export function llamaShapes(c: ShapeConfig): ModelShapes {
  const hd = c.headDim ?? c.hiddenSize / c.numAttentionHeads;
  const q = c.numAttentionHeads * hd;
  const kv = c.numKeyValueHeads * hd;
  const linears: LinearShape[] = [];
  const others: { name: string; numel: number }[] = [{ name: 'model.embed_tokens', numel: c.vocabSize * c.hiddenSize }];
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const p = `model.layers.${i}`;
    linears.push(
      { name: `${p}.self_attn.q_proj`, inFeatures: c.hiddenSize, outFeatures: q, bias: c.attentionBias },
      { name: `${p}.self_attn.k_proj`, inFeatures: c.hiddenSize, outFeatures: kv, bias: c.attentionBias },
      { name: `${p}.self_attn.v_proj`, inFeatures: c.hiddenSize, outFeatures: kv, bias: c.attentionBias },
      { name: `${p}.self_attn.o_proj`, inFeatures: q, outFeatures: c.hiddenSize, bias: false },
      { name: `${p}.mlp.gate_proj`, inFeatures: c.hiddenSize, outFeatures: c.intermediateSize, bias: false },
      { name: `${p}.mlp.up_proj`, inFeatures: c.hiddenSize, outFeatures: c.intermediateSize, bias: false },
      { name: `${p}.mlp.down_proj`, inFeatures: c.intermediateSize, outFeatures: c.hiddenSize, bias: false },
    );
    others.push({ name: `${p}.input_layernorm`, numel: c.hiddenSize }, { name: `${p}.post_attention_layernorm`, numel: c.hiddenSize });
  }
  others.push({ name: 'model.norm', numel: c.hiddenSize });
  if (!c.tieWordEmbeddings) linears.push({ name: 'lm_head', inFeatures: c.hiddenSize, outFeatures: c.vocabSize, bias: false });
  return { linears, others };
}

/** A model that is one matrix [out, in] (the DESIGN example: 4096 x 4096), named 'weight'. */
export function singleMatrixShapes(out: number, inF: number, name = 'weight'): ModelShapes {
  return { linears: [{ name, inFeatures: inF, outFeatures: out, bias: false }], others: [] };
}

/** The shape fields of a Hugging Face config.json (snake_case, via @tuneloop/model) or of a ModelConfig (camelCase). */
export function shapeConfigFromJson(json: Record<string, unknown>): ShapeConfig {
  if (typeof json.hiddenSize === 'number') return validateModelConfig(json as unknown as ModelConfig);
  return modelConfigFromHf(json);
}
