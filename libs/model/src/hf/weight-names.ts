// A check of a checkpoint's tensor names and shapes against a config (expected tensors from
// weights.ts, HF LlamaForCausalLM / Qwen2ForCausalLM layout) naming every missing, extra or mis-shaped one.
import type { ModelConfig } from '../config.ts';
import { expectedWeightShapes } from '../weights.ts';

/** Buffers some checkpoints carry that carry no parameters (recomputed from the config). */
export const IGNORED_WEIGHTS = /(^|\.)rotary_emb\.inv_freq$/;

export interface WeightCheck {
  missing: string[];
  unexpected: string[];
  mismatched: { name: string; expected: number[]; got: number[] }[];
}

/** Compare names and shapes; an `lm_head.weight` equal in shape to the embedding is allowed when tied. */
export function checkWeights(c: ModelConfig, shapes: Map<string, readonly number[]>): WeightCheck {
  const expected = expectedWeightShapes(c);
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
