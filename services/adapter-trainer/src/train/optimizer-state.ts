// Checkpointable AdamW state: the step count and the first / second moments per named variable, read from
// and written into @tuneloop/engine's AdamW (whose slots are keyed by the variable objects).
import * as tf from '@tensorflow/tfjs-core';
import type { AdamW } from '@tuneloop/engine';

export interface AdamWState {
  step: number;
  /** name -> [exp_avg, exp_avg_sq], flat float32 in the variable's shape */
  moments: Map<string, { shape: number[]; m: Float32Array; v: Float32Array }>;
}

// AdamW keeps `slots: Map<tf.Variable, {m, v}>` and `t` private; engine issue: expose getState/setState.
interface AdamWInternals {
  slots: Map<tf.Variable, { m: tf.Variable; v: tf.Variable }>;
  t: number;
}

function internals(opt: AdamW): AdamWInternals {
  const o = opt as unknown as AdamWInternals;
  if (!(o.slots instanceof Map) || typeof o.t !== 'number') throw new Error('AdamW: internal state layout changed; cannot checkpoint the optimizer');
  return o;
}

export function exportAdamW(opt: AdamW, named: Map<string, tf.Variable>): AdamWState {
  const o = internals(opt);
  const moments: AdamWState['moments'] = new Map();
  for (const [name, v] of named) {
    const slot = o.slots.get(v);
    if (!slot) continue;
    moments.set(name, { shape: [...v.shape], m: slot.m.dataSync() as Float32Array, v: slot.v.dataSync() as Float32Array });
  }
  return { step: o.t, moments };
}

/** Puts saved moments into a fresh AdamW for the same named variables; throws on a shape mismatch. */
export function importAdamW(opt: AdamW, named: Map<string, tf.Variable>, state: AdamWState): void {
  const o = internals(opt);
  for (const [name, s] of state.moments) {
    const v = named.get(name);
    if (!v) throw new Error(`checkpoint: optimizer state for '${name}', which is not a trainable tensor of this job`);
    if (v.shape.join(',') !== s.shape.join(',')) throw new Error(`checkpoint: '${name}' has shape [${s.shape}] in the optimizer state, [${v.shape}] in the model`);
    o.slots.get(v)?.m.dispose();
    o.slots.get(v)?.v.dispose();
    o.slots.set(v, { m: tf.tidy(() => tf.variable(tf.tensor(s.m, s.shape), false)), v: tf.tidy(() => tf.variable(tf.tensor(s.v, s.shape), false)) });
  }
  o.t = state.step;
}
