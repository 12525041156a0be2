// SimPO: reference-free preference optimisation on length-normalised log-probs with a target
// margin, as TRL's CPOTrainer with loss_type='simpo'. Meng et al. 2024, Eq. 6:
// L = -log sigmoid(beta/|y_w| log pi(y_w|x) - beta/|y_l| log pi(y_l|x) - gamma), with label
// smoothing as cDPO and the optional CPO behaviour-cloning term cpoAlpha * NLL (Xu et al. 2024, Eq. 5).
import * as tf from '@tensorflow/tfjs-core';
import { checkSide, requireSameBatch } from '../util/pair.ts';
import { detach, fraction, logSigmoid, maskedMean, sequenceMean } from '../util/tensor.ts';
import { requireFinite, requireNonNegative, requirePositive, requireRange } from '../util/validate.ts';

export interface SimpoLossInput {
  /** Policy per-token log-probs of the chosen / rejected completions, [B, Tc] and [B, Tr]. */
  policyChosenLogps: tf.Tensor;
  policyRejectedLogps: tf.Tensor;
  /** 0/1 completion masks, [B, Tc] and [B, Tr]. */
  chosenMask: tf.Tensor;
  rejectedMask: tf.Tensor;
  /** Reward scale (> 0); the paper uses 2.0-2.5. */
  beta: number;
  /** Target reward margin, absolute, in the logit of the sigmoid (TRL's simpo_gamma); e.g. 0.5. */
  gamma: number;
  /** Weight of the NLL term on the chosen completions (CPO-SimPO); default 0 (pure SimPO). */
  cpoAlpha?: number;
  /** Probability that a label is flipped, in [0, 0.5); default 0. */
  labelSmoothing?: number;
}

export interface SimpoLossOutput {
  /** mean over pairs of the smoothed -log sigmoid(beta (c - r) - gamma) (+ cpoAlpha * nllLoss). */
  loss: tf.Scalar;
  /** beta * mean per-token log-prob of each chosen / rejected completion, no gradient, [B]. */
  chosenRewards: tf.Tensor1D;
  rejectedRewards: tf.Tensor1D;
  /** Fraction of pairs with chosen reward > rejected reward. */
  rewardAccuracy: tf.Scalar;
  /** Mean negative log-prob over all chosen completion tokens (weighted by cpoAlpha in the loss). */
  nllLoss: tf.Scalar;
  /** Mean per-token log-probs, no gradient, [B]. */
  chosenLogps: tf.Tensor1D;
  rejectedLogps: tf.Tensor1D;
}

export function simpoLoss(input: SimpoLossInput): SimpoLossOutput {
  const chosen = checkSide('policyChosenLogps', input.policyChosenLogps, 'chosenMask', input.chosenMask);
  const rejected = checkSide('policyRejectedLogps', input.policyRejectedLogps, 'rejectedMask', input.rejectedMask);
  requireSameBatch('policyChosenLogps', chosen.logps, 'policyRejectedLogps', rejected.logps);
  const beta = requirePositive('beta', input.beta);
  const gamma = requireFinite('gamma', input.gamma);
  const cpoAlpha = input.cpoAlpha === undefined ? 0 : requireNonNegative('cpoAlpha', input.cpoAlpha);
  const ls = input.labelSmoothing === undefined ? 0 : requireRange('labelSmoothing', input.labelSmoothing, 0, 0.5, true);

  return tf.tidy(() => {
    const c = sequenceMean(chosen.logps, chosen.mask); // [B]
    const r = sequenceMean(rejected.logps, rejected.mask); // [B]
    const z = tf.sub(tf.mul(beta, tf.sub(c, r)), gamma); // beta (c - r) - gamma, [B]
    const losses = tf.sub(tf.mul(-(1 - ls), logSigmoid(z)), tf.mul(ls, logSigmoid(tf.neg(z))));
    const nllLoss = tf.neg(maskedMean(chosen.logps, chosen.mask)) as tf.Scalar;
    let loss = tf.mean(losses);
    if (cpoAlpha > 0) loss = tf.add(loss, tf.mul(cpoAlpha, nllLoss));
    const chosenRewards = detach(tf.mul(beta, c)) as tf.Tensor1D;
    const rejectedRewards = detach(tf.mul(beta, r)) as tf.Tensor1D;
    return {
      loss: loss as tf.Scalar,
      chosenRewards,
      rejectedRewards,
      rewardAccuracy: fraction(tf.greater(chosenRewards, rejectedRewards)),
      nllLoss,
      chosenLogps: detach(c),
      rejectedLogps: detach(r),
    };
  });
}
