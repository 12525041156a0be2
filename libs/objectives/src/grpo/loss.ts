// GRPO clipped surrogate loss, as TRL's GRPOTrainer._compute_loss (token-level importance ratio):
// per token  -min(rho A, clip(rho, 1 - epsLow, 1 + epsHigh) A) + beta * KL_k3, rho = exp(logp - logp_old)
// (Shao et al. 2024, DeepSeekMath, Eq. 3; epsilon low/high "clip-higher" of DAPO, Yu et al. 2025 Eq. 8;
// k3 estimator KL = exp(ref - logp) - (ref - logp) - 1, Schulman 2020 "Approximating KL divergence").
// Aggregation: 'grpo' mean over sequences of token means; 'bnpo' token mean over the batch;
// 'dr_grpo' sum / (B * maxCompletionLength) (Liu et al. 2025, Dr. GRPO, Eq. 4); 'dapo' sum /
// tokens in the whole generation batch (Yu et al. 2025, Eq. 10; numItemsInBatch, default this batch).
import * as tf from '@tensorflow/tfjs-core';
import { ObjectiveInputError } from '../util/errors.ts';
import { applyMask, detach, maskFloat, maskedMean, tokenCounts } from '../util/tensor.ts';
import {
  requireDim,
  requireInteger,
  requireNonEmptyBatch,
  requireNonNegative,
  requireOneOf,
  requirePositive,
  requireRange,
  requireSameShape,
  requireTensor,
} from '../util/validate.ts';

export const GRPO_LOSS_TYPES = ['grpo', 'bnpo', 'dr_grpo', 'dapo'] as const;
export type GrpoLossType = (typeof GRPO_LOSS_TYPES)[number];

export interface GrpoLossInput {
  /** One advantage per completion, [B] (from grpoAdvantages). */
  advantages: tf.Tensor;
  /** Current policy per-token log-probs, [B, T]. */
  logps: tf.Tensor;
  /** Log-probs of the policy that generated the batch, [B, T]; default: logps without gradient (ratio 1). */
  oldLogps?: tf.Tensor;
  /** Reference per-token log-probs, [B, T]; required when beta > 0. */
  refLogps?: tf.Tensor;
  /** 0/1 completion mask, [B, T] (truncated completions may be masked out entirely by the caller). */
  mask: tf.Tensor;
  /** KL coefficient, >= 0; default 0 as TRL. */
  beta?: number;
  /** Lower clip range: rho >= 1 - epsilonLow; default 0.2. */
  epsilonLow?: number;
  /** Upper clip range: rho <= 1 + epsilonHigh; default epsilonLow. */
  epsilonHigh?: number;
  lossType: GrpoLossType;
  /** Normaliser of 'dr_grpo'; default T. */
  maxCompletionLength?: number;
  /** Normaliser of 'dapo': completion tokens in the whole generation batch; default mask.sum(). */
  numItemsInBatch?: number;
}

export interface GrpoLossOutput {
  loss: tf.Scalar;
  /** Token mean of the k3 KL to the reference (0 without refLogps), no gradient. */
  kl: tf.Scalar;
  /** Fraction of tokens whose ratio was clipped in the direction that binds (TRL clip_ratio/region_mean). */
  clipRatio: tf.Scalar;
  /** rho < 1 - epsLow with A < 0 (clip_ratio/low_mean); rho > 1 + epsHigh with A > 0 (clip_ratio/high_mean). */
  lowClipRatio: tf.Scalar;
  highClipRatio: tf.Scalar;
}

export function grpoLoss(input: GrpoLossInput): GrpoLossOutput {
  const logps = requireTensor('logps', input.logps, 2);
  const mask = requireTensor('mask', input.mask, 2);
  requireSameShape('logps', logps, 'mask', mask);
  requireNonEmptyBatch('logps', logps);
  const [B, T] = logps.shape;
  const adv = requireTensor('advantages', input.advantages, 1);
  requireDim('advantages', adv, 0, B, 'one per completion, the batch size of logps');
  const old = input.oldLogps === undefined ? undefined : requireTensor('oldLogps', input.oldLogps, 2);
  if (old) requireSameShape('logps', logps, 'oldLogps', old);
  const beta = input.beta === undefined ? 0 : requireNonNegative('beta', input.beta);
  const ref = input.refLogps === undefined ? undefined : requireTensor('refLogps', input.refLogps, 2);
  if (ref) requireSameShape('logps', logps, 'refLogps', ref);
  if (beta > 0 && !ref) throw new ObjectiveInputError('refLogps', `is required when beta > 0 (beta = ${beta})`);
  const epsLow = input.epsilonLow === undefined ? 0.2 : requireRange('epsilonLow', input.epsilonLow, 0, 1, true);
  const epsHigh = input.epsilonHigh === undefined ? epsLow : requireNonNegative('epsilonHigh', input.epsilonHigh);
  const lossType = requireOneOf('lossType', input.lossType, GRPO_LOSS_TYPES);
  const maxLen = input.maxCompletionLength === undefined ? T : requireInteger('maxCompletionLength', input.maxCompletionLength, 1);
  const numItems = input.numItemsInBatch === undefined ? undefined : requirePositive('numItemsInBatch', input.numItemsInBatch);

  return tf.tidy(() => {
    const a = tf.reshape(tf.cast(adv, 'float32'), [B, 1]); // [B, 1]
    const oldLogps = old ? detach(old) : detach(logps);
    const logRatio = applyMask(tf.sub(logps, oldLogps), mask); // 0 on padding, [B, T]
    const rho = tf.exp(logRatio);
    const rhoClipped = tf.clipByValue(rho, 1 - epsLow, 1 + epsHigh);
    let perToken = tf.neg(tf.minimum(tf.mul(rho, a), tf.mul(rhoClipped, a))); // [B, T]

    let kl: tf.Scalar = tf.scalar(0);
    if (ref) {
      // k3: exp(ref - logp) - (ref - logp) - 1 >= 0, unbiased for KL(pi || pi_ref).
      const d = applyMask(tf.sub(detach(ref), logps), mask);
      const perTokenKl = tf.sub(tf.sub(tf.exp(d), d), 1);
      kl = detach(maskedMean(perTokenKl, mask));
      if (beta > 0) perToken = tf.add(perToken, tf.mul(beta, perTokenKl));
    }

    const m = maskFloat(mask);
    const masked = applyMask(perToken, mask); // [B, T]
    const total = tf.sum(masked);
    let loss: tf.Tensor;
    if (lossType === 'grpo') {
      loss = tf.mean(tf.div(tf.sum(masked, 1), tokenCounts(mask)));
    } else if (lossType === 'bnpo') {
      loss = tf.div(total, tf.maximum(tf.sum(m), 1));
    } else if (lossType === 'dr_grpo') {
      loss = tf.div(total, B * maxLen);
    } else {
      loss = tf.div(total, numItems ?? tf.maximum(tf.sum(m), 1));
    }

    const low = tf.logicalAnd(tf.less(rho, 1 - epsLow), tf.less(a, 0));
    const high = tf.logicalAnd(tf.greater(rho, 1 + epsHigh), tf.greater(a, 0));
    const frac = (x: tf.Tensor) => detach(maskedMean(tf.cast(x, 'float32'), mask));
    return {
      loss: loss as tf.Scalar,
      kl,
      clipRatio: frac(tf.logicalOr(low, high)),
      lowClipRatio: frac(low),
      highClipRatio: frac(high),
    };
  });
}
