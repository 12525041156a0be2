// PPO / RLHF per-token rewards (Ziegler et al. 2019, Eq. 2; Ouyang et al. 2022 Eq. 2; TRL PPOTrainer):
// r_t = -klCoef * KL_t, plus the reward model's score on the last completion token, with
// KL_t = logp - ref (k1, TRL's default) or exp(ref - logp) - (ref - logp) - 1 (k3).
import * as tf from '@tensorflow/tfjs-core';
import { ObjectiveInputError } from '../util/errors.ts';
import { applyMask } from '../util/tensor.ts';
import { requireDim, requireNonEmptyBatch, requireNonNegative, requireOneOf, requireSameShape, requireTensor } from '../util/validate.ts';

export const KL_ESTIMATORS = ['k1', 'k3'] as const;
export type KlEstimator = (typeof KL_ESTIMATORS)[number];

export interface PpoRewardsInput {
  /** Reward-model score of each completion, [B]. */
  scores: tf.Tensor;
  /** Rollout policy per-token log-probs, [B, T]. */
  logps: tf.Tensor;
  /** Reference per-token log-probs, [B, T]. */
  refLogps: tf.Tensor;
  /** 0/1 completion mask, right-padded; every row needs at least one token, [B, T]. */
  mask: tf.Tensor;
  /** KL penalty coefficient (fixed, or the adaptive controller's value), >= 0. */
  klCoef: number;
  /** Default 'k1'. */
  klEstimator?: KlEstimator;
}

export interface PpoRewardsOutput {
  /** Per-token rewards, 0 outside the mask, [B, T]. */
  rewards: tf.Tensor2D;
  /** Per-token KL estimate, 0 outside the mask, [B, T]. */
  kl: tf.Tensor2D;
  /** -klCoef * kl, [B, T]. */
  nonScoreRewards: tf.Tensor2D;
}

export function ppoRewards(input: PpoRewardsInput): PpoRewardsOutput {
  const logps = requireTensor('logps', input.logps, 2);
  requireNonEmptyBatch('logps', logps);
  const ref = requireTensor('refLogps', input.refLogps, 2);
  const mask = requireTensor('mask', input.mask, 2);
  requireSameShape('logps', logps, 'refLogps', ref);
  requireSameShape('logps', logps, 'mask', mask);
  const scores = requireTensor('scores', input.scores, 1);
  requireDim('scores', scores, 0, logps.shape[0], 'one per completion, the batch size of logps');
  const klCoef = requireNonNegative('klCoef', input.klCoef);
  const estimator = input.klEstimator === undefined ? 'k1' : requireOneOf('klEstimator', input.klEstimator, KL_ESTIMATORS);

  const [B, T] = logps.shape;
  const m = mask.dataSync();
  const last: number[] = [];
  for (let b = 0; b < B; b++) {
    let idx = -1;
    for (let t = 0; t < T; t++) if (m[b * T + t] > 0) idx = t;
    if (idx < 0) throw new ObjectiveInputError('mask', `row ${b} has no completion token to carry the score`);
    last.push(b * T + idx);
  }
  return tf.tidy(() => {
    const logr = applyMask(tf.sub(ref, logps), mask); // log pi_ref / pi
    const kl = (estimator === 'k1' ? tf.neg(logr) : tf.sub(tf.sub(tf.exp(logr), logr), 1)) as tf.Tensor2D;
    const nonScoreRewards = tf.mul(-klCoef, kl) as tf.Tensor2D;
    const onLast = new Float32Array(B * T);
    const s = scores.dataSync();
    last.forEach((i, b) => (onLast[i] = s[b]));
    return { rewards: tf.add(nonScoreRewards, tf.tensor2d(onLast, [B, T])) as tf.Tensor2D, kl, nonScoreRewards };
  });
}
