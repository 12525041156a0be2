// PPO clipped policy and value losses over tokens, as TRL's PPOTrainer (Schulman et al. 2017, Eq. 7
// and Eq. 9): pg = mean max(-A rho, -A clip(rho, 1 +- eps)); vf = 0.5 mean max((V - R)^2,
// (clip(V, V_old +- epsV) - R)^2); loss = pg + vfCoef * vf. Means are token means over the mask.
import * as tf from '@tensorflow/tfjs-core';
import { applyMask, detach, maskedMean } from '../util/tensor.ts';
import { requireNonEmptyBatch, requireNonNegative, requireRange, requireSameShape, requireTensor } from '../util/validate.ts';

export interface PpoLossInput {
  /** Current policy per-token log-probs, [B, T]. */
  logps: tf.Tensor;
  /** Log-probs at rollout time, [B, T]. */
  oldLogps: tf.Tensor;
  /** Per-token advantages (usually whitened GAE), [B, T]. */
  advantages: tf.Tensor;
  /** Current value predictions, [B, T]. */
  values: tf.Tensor;
  /** Value predictions at rollout time, [B, T]. */
  oldValues: tf.Tensor;
  /** GAE returns (targets of the value head), [B, T]. */
  returns: tf.Tensor;
  /** 0/1 completion mask, [B, T]. */
  mask: tf.Tensor;
  /** Policy ratio clip range epsilon, in [0, 1); TRL default 0.2. */
  clipRange: number;
  /** Value clip range around oldValues, >= 0; TRL default 0.2. */
  clipRangeValue: number;
  /** Weight of the value loss, >= 0; TRL default 0.1. */
  vfCoef: number;
}

export interface PpoLossOutput {
  loss: tf.Scalar;
  pgLoss: tf.Scalar;
  vfLoss: tf.Scalar;
  /** Fraction of tokens where the clipped policy term binds (TRL policy/clipfrac_avg). */
  pgClipfrac: tf.Scalar;
  /** Fraction of tokens where the clipped value term binds (TRL val/clipfrac_avg). */
  vfClipfrac: tf.Scalar;
  /** 0.5 * mean (logp - logp_old)^2 (TRL policy/approxkl_avg), no gradient. */
  approxKl: tf.Scalar;
}

export function ppoLoss(input: PpoLossInput): PpoLossOutput {
  const logps = requireTensor('logps', input.logps, 2);
  requireNonEmptyBatch('logps', logps);
  const fields = ['oldLogps', 'advantages', 'values', 'oldValues', 'returns', 'mask'] as const;
  for (const f of fields) requireSameShape('logps', logps, f, requireTensor(f, input[f], 2));
  const eps = requireRange('clipRange', input.clipRange, 0, 1, true);
  const epsV = requireNonNegative('clipRangeValue', input.clipRangeValue);
  const vfCoef = requireNonNegative('vfCoef', input.vfCoef);
  const { mask } = input;

  return tf.tidy(() => {
    const adv = detach(input.advantages);
    const ret = detach(input.returns);
    const oldV = detach(input.oldValues);
    const logRatio = applyMask(tf.sub(logps, detach(input.oldLogps)), mask);
    const rho = tf.exp(logRatio);
    const pg1 = tf.mul(tf.neg(adv), rho);
    const pg2 = tf.mul(tf.neg(adv), tf.clipByValue(rho, 1 - eps, 1 + eps));
    const pgLoss = maskedMean(tf.maximum(pg1, pg2), mask);

    const v = input.values;
    const vClipped = tf.minimum(tf.maximum(v, tf.sub(oldV, epsV)), tf.add(oldV, epsV));
    const vf1 = tf.square(tf.sub(v, ret));
    const vf2 = tf.square(tf.sub(vClipped, ret));
    const vfLoss = tf.mul(0.5, maskedMean(tf.maximum(vf1, vf2), mask)) as tf.Scalar;

    const frac = (x: tf.Tensor) => detach(maskedMean(tf.cast(x, 'float32'), mask));
    return {
      loss: tf.add(pgLoss, tf.mul(vfCoef, vfLoss)) as tf.Scalar,
      pgLoss,
      vfLoss,
      pgClipfrac: frac(tf.greater(pg2, pg1)),
      vfClipfrac: frac(tf.greater(vf2, vf1)),
      approxKl: detach(tf.mul(0.5, maskedMean(tf.square(logRatio), mask))) as tf.Scalar,
    };
  });
}
