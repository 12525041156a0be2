// The tensors a LlamaForCausalLM / Qwen2ForCausalLM checkpoint holds (HF names, HF [out, in] shapes),
// and a check of a weight map against a config that names every missing, extra or mis-shaped tensor.
import { headDimOf, type ModelConfig } from '../config.ts';

/** Expected HF tensor name -> shape for `config`, in transformers' module order. */
export function hfWeightShapes(c: ModelConfig): Map<string, number[]> {
  const hd = headDimOf(c);
  const q = c.numAttentionHeads * hd;
  const kv = c.numKeyValueHeads * hd;
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [c.vocabSize, c.hiddenSize]);
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const p = `model.layers.${i}`;
    m.set(`${p}.self_attn.q_proj.weight`, [q, c.hiddenSize]);
    if (c.attentionBias) m.set(`${p}.self_attn.q_proj.bias`, [q]);
    m.set(`${p}.self_attn.k_proj.weight`, [kv, c.hiddenSize]);
    if (c.attentionBias) m.set(`${p}.self_attn.k_proj.bias`, [kv]);
    m.set(`${p}.self_attn.v_proj.weight`, [kv, c.hiddenSize]);
    if (c.attentionBias) m.set(`${p}.self_attn.v_proj.bias`, [kv]);
    m.set(`${p}.self_attn.o_proj.weight`, [c.hiddenSize, q]);
    m.set(`${p}.mlp.gate_proj.weight`, [c.intermediateSize, c.hiddenSize]);
    m.set(`${p}.mlp.up_proj.weight`, [c.intermediateSize, c.hiddenSize]);
    m.set(`${p}.mlp.down_proj.weight`, [c.hiddenSize, c.intermediateSize]);
    m.set(`${p}.input_layernorm.weight`, [c.hiddenSize]);
    m.set(`${p}.post_attention_layernorm.weight`, [c.hiddenSize]);
  }
  m.set('model.norm.weight', [c.hiddenSize]);
  if (!c.tieWordEmbeddings) m.set('lm_head.weight', [c.vocabSize, c.hiddenSize]);
  return m;
}

/** Buffers some checkpoints carry that carry no parameters (recomputed from the config). */
export const IGNORED_WEIGHTS = /(^|\.)rotary_emb\.inv_freq$/;

export interface WeightCheck {
  missing: string[];
  unexpected: string[];
  mismatched: { name: string; expected: number[]; got: number[] }[];
}

/** Compare names and shapes; an `lm_head.weight` equal in shape to the embedding is allowed when tied. */
export function checkWeights(c: ModelConfig, shapes: Map<string, readonly number[]>): WeightCheck {
  const expected = hfWeightShapes(c);
  const out: WeightCheck = { missing: [], unexpected: [], mismatched: [] };
  for (const [name, shape] of expected) {
    const got = shapes.get(name);
    if (!got) out.missing.push(name);
    else if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) out.mismatched.push({ name, expected: shape, got: [...got] });
  }
  for (const name of shapes.keys()) {
    if (expected.has(name) || IGNORED_WEIGHTS.test(name)) continue;
    if (name === 'lm_head.weight' && c.tieWordEmbeddings) continue;
    out.unexpected.push(name);
  }
  return out;
}

/** Throw one message listing every problem (first few of each kind), or return quietly. */
export function assertWeightsMatch(c: ModelConfig, shapes: Map<string, readonly number[]>): void {
  const r = checkWeights(c, shapes);
  const parts: string[] = [];
  const few = (xs: string[]) => xs.slice(0, 5).join(', ') + (xs.length > 5 ? ` (+${xs.length - 5} more)` : '');
  if (r.missing.length) parts.push(`missing ${r.missing.length} tensor(s): ${few(r.missing)}`);
  if (r.unexpected.length) parts.push(`unexpected ${r.unexpected.length} tensor(s): ${few(r.unexpected)}`);
  if (r.mismatched.length) {
    parts.push(`wrong shape: ${few(r.mismatched.map((m) => `${m.name} expected [${m.expected.join(', ')}] got [${m.got.join(', ')}]`))}`);
  }
  if (parts.length) throw Object.assign(new Error(`weights do not match config: ${parts.join('; ')}`), { code: 'weights_mismatch' });
}
