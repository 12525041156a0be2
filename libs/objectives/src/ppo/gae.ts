// Generalised advantage estimation (Schulman et al. 2016, Eq. 16) over right-padded token rows, as
// TRL's PPOTrainer: delta_t = r_t + gamma V_{t+1} - V_t, A_t = delta_t + gamma lam A_{t+1}, returns = A + V.
// Positions outside the mask are terminal: reward 0, value 0, advantage 0 (TRL keeps one value past the end).
import * as tf from '@tensorflow/tfjs-core';
import { requireNonEmptyBatch, requireRange, requireSameShape, requireTensor } from '../util/validate.ts';

export interface GaeInput {
  /** Per-token rewards, [B, T]. */
  rewards: tf.Tensor;
  /** Value estimates V(s_t), [B, T]. */
  values: tf.Tensor;
  /** 0/1 completion mask, right-padded, [B, T]. */
  mask: tf.Tensor;
  /** Discount, in [0, 1]. */
  gamma: number;
  /** GAE lambda, in [0, 1]. */
  lam: number;
}

export interface GaeOutput {
  /** Raw (unwhitened) advantages, 0 outside the mask, [B, T]. */
  advantages: tf.Tensor2D;
  /** advantages + values, 0 outside the mask, [B, T]. */
  returns: tf.Tensor2D;
}

export function gae(input: GaeInput): GaeOutput {
  const rewards = requireTensor('rewards', input.rewards, 2);
  const vals = requireTensor('values', input.values, 2);
  const mask = requireTensor('mask', input.mask, 2);
  requireSameShape('rewards', rewards, 'values', vals);
  requireSameShape('rewards', rewards, 'mask', mask);
  requireNonEmptyBatch('rewards', rewards);
  const gamma = requireRange('gamma', input.gamma, 0, 1);
  const lam = requireRange('lam', input.lam, 0, 1);

  const [B, T] = rewards.shape;
  const r = rewards.dataSync();
  const v = vals.dataSync();
  const m = mask.dataSync();
  const adv = new Float32Array(B * T);
  const ret = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    let last = 0; // A_{t+1}
    let nextValue = 0; // V_{t+1}
    for (let t = T - 1; t >= 0; t--) {
      const i = b * T + t;
      if (!(m[i] > 0)) {
        last = 0;
        nextValue = 0;
        continue;
      }
      const delta = r[i] + gamma * nextValue - v[i];
      last = delta + gamma * lam * last;
      adv[i] = last;
      ret[i] = last + v[i];
      nextValue = v[i];
    }
  }
  return { advantages: tf.tensor2d(adv, [B, T]), returns: tf.tensor2d(ret, [B, T]) };
}
