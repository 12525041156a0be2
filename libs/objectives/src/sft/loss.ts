// Supervised fine-tuning loss: the token-mean negative log-likelihood of the completion tokens
// (TRL SFTTrainer's cross-entropy with completion-only loss; maximum likelihood, Radford et al. 2018 Eq. 1).
import * as tf from '@tensorflow/tfjs-core';
import { requireNonEmptyBatch, requireSameShape, requireTensor } from '../util/validate.ts';
import { maskFloat, maskedMean } from '../util/tensor.ts';

export interface SftLossInput {
  /** Per-token log-probs of the target tokens, [B, T]. */
  logps: tf.Tensor;
  /** 1 on completion tokens, 0 on prompt / padding, [B, T]. */
  mask: tf.Tensor;
}

export interface SftLossOutput {
  /** -sum(logp * mask) / sum(mask): one token mean over the whole batch. */
  loss: tf.Scalar;
  /** Number of completion tokens the mean ran over. */
  numTokens: tf.Scalar;
}

export function sftLoss(input: SftLossInput): SftLossOutput {
  const logps = requireTensor('logps', input.logps, 2);
  const mask = requireTensor('mask', input.mask, 2);
  requireSameShape('logps', logps, 'mask', mask);
  requireNonEmptyBatch('logps', logps);
  return tf.tidy(() => ({
    loss: tf.neg(maskedMean(logps, mask)) as tf.Scalar,
    numTokens: tf.sum(maskFloat(mask)) as tf.Scalar,
  }));
}
