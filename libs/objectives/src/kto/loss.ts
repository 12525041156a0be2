// KTO: Kahneman-Tversky optimisation on unpaired desirable / undesirable examples, as TRL's
// KTOTrainer.kto_loss. Ethayarajh et al. 2024, Eq. 8: v(x,y) = lambda_D sigma(beta (r - z0)) for
// desirable y, lambda_U sigma(beta (z0 - r)) for undesirable y; loss = lambda_y - v, with
// r = log pi(y|x) - log pi_ref(y|x) (sum over the mask) and z0 the KL estimate from mismatched pairs.
import * as tf from '@tensorflow/tfjs-core';
import { ObjectiveInputError } from '../util/errors.ts';
import { checkReference, checkSide } from '../util/pair.ts';
import { detach, referenceSum, sequenceSum } from '../util/tensor.ts';
import { requirePositive } from '../util/validate.ts';

export interface KtoLossInput {
  /** true = desirable, false = undesirable; one per example (row). */
  labels: boolean[];
  /** Policy per-token log-probs of the completions, [B, T]. */
  policyLogps: tf.Tensor;
  /** Reference log-probs: per token [B, T] or summed [B]. */
  refLogps: tf.Tensor;
  /** 0/1 completion mask, [B, T]. */
  mask: tf.Tensor;
  /** Policy per-token log-probs of mismatched (prompt, completion) pairs for the KL estimate, [K, T']. */
  klPolicyLogps: tf.Tensor;
  /** Reference log-probs of the same mismatched pairs: [K, T'] or summed [K]. */
  klRefLogps: tf.Tensor;
  /** 0/1 mask of the mismatched completions, [K, T']. */
  klMask: tf.Tensor;
  /** Strength of the KL constraint (> 0); typical 0.1. */
  beta: number;
  /** lambda_D, weight of desirable examples (> 0); default 1. */
  desirableWeight?: number;
  /** lambda_U, weight of undesirable examples (> 0); default 1. */
  undesirableWeight?: number;
}

export interface KtoLossOutput {
  /** Plain mean over all B examples of the weighted per-example losses. */
  loss: tf.Scalar;
  /** KL estimate z0: mean over the mismatched pairs of their log-ratio, clamped at 0, no gradient. */
  kl: tf.Scalar;
  /** beta * log-ratio of the desirable examples (in batch order), no gradient, [#desirable]. */
  chosenRewards: tf.Tensor1D;
  /** beta * log-ratio of the undesirable examples, no gradient, [#undesirable]. */
  rejectedRewards: tf.Tensor1D;
  /** Policy sequence log-probs of the desirable / undesirable examples, no gradient. */
  chosenLogps: tf.Tensor1D;
  rejectedLogps: tf.Tensor1D;
}

export function ktoLoss(input: KtoLossInput): KtoLossOutput {
  const side = checkSide('policyLogps', input.policyLogps, 'mask', input.mask);
  const ref = checkReference('refLogps', input.refLogps, 'policyLogps', side.logps);
  const kl = checkSide('klPolicyLogps', input.klPolicyLogps, 'klMask', input.klMask);
  const klRef = checkReference('klRefLogps', input.klRefLogps, 'klPolicyLogps', kl.logps);
  const labels = input.labels;
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'boolean')) {
    throw new ObjectiveInputError('labels', 'must be a boolean[] (true = desirable), one per example');
  }
  if (labels.length !== side.logps.shape[0]) {
    throw new ObjectiveInputError('labels', `must have one entry per example (${side.logps.shape[0]}), got ${labels.length}`);
  }
  const beta = requirePositive('beta', input.beta);
  const wD = input.desirableWeight === undefined ? 1 : requirePositive('desirableWeight', input.desirableWeight);
  const wU = input.undesirableWeight === undefined ? 1 : requirePositive('undesirableWeight', input.undesirableWeight);

  const desirable = labels.flatMap((l, i) => (l ? [i] : []));
  const undesirable = labels.flatMap((l, i) => (l ? [] : [i]));

  return tf.tidy(() => {
    // z0 = max(0, mean_j [log pi(y_j'|x_j) - log pi_ref(y_j'|x_j)]), detached.
    const z0 = detach(tf.maximum(tf.mean(tf.sub(sequenceSum(kl.logps, kl.mask), referenceSum(klRef, kl.mask))), 0)) as tf.Scalar;
    const policySeq = sequenceSum(side.logps, side.mask); // [B]
    const ratio = tf.sub(policySeq, referenceSum(ref, side.mask)); // r, [B]
    const isDesirable = tf.tensor1d(labels.map((l) => (l ? 1 : 0)), 'float32');
    // desirable: lambda_D (1 - sigma(beta (r - z0))); undesirable: lambda_U (1 - sigma(beta (z0 - r))).
    const lossD = tf.mul(wD, tf.sub(1, tf.sigmoid(tf.mul(beta, tf.sub(ratio, z0)))));
    const lossU = tf.mul(wU, tf.sub(1, tf.sigmoid(tf.mul(beta, tf.sub(z0, ratio)))));
    const losses = tf.add(tf.mul(isDesirable, lossD), tf.mul(tf.sub(1, isDesirable), lossU)); // [B]
    const rewards = detach(tf.mul(beta, ratio));
    const pick = (x: tf.Tensor, idx: number[]) => tf.gather(x, tf.tensor1d(idx, 'int32')) as tf.Tensor1D;
    const seq = detach(policySeq);
    return {
      loss: tf.mean(losses) as tf.Scalar,
      kl: z0,
      chosenRewards: pick(rewards, desirable),
      rejectedRewards: pick(rewards, undesirable),
      chosenLogps: pick(seq, desirable),
      rejectedLogps: pick(seq, undesirable),
    };
  });
}
