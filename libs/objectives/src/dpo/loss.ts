// Direct Preference Optimization and its variants, as TRL's DPOTrainer.dpo_loss.
// sigmoid: Rafailov et al. 2023 Eq. 7, with label smoothing (cDPO, Mitchell 2023);
// robust: Chowdhury et al. 2024 Eq. 8 (rDPO); hinge: SLiC, Zhao et al. 2023 Eq. 2 (1 / beta as the
// margin); ipo: Azar et al. 2023 Eq. 17, on length-normalised log-ratios.
// Batch layout: row i of the chosen tensors and row i of the rejected tensors form pair i.
import * as tf from '@tensorflow/tfjs-core';
import { checkReference, checkSide, requireSameBatch } from '../util/pair.ts';
import { detach, fraction, logSigmoid, referenceSum, sequenceSum, tokenCounts } from '../util/tensor.ts';
import { requireOneOf, requirePositive, requireRange } from '../util/validate.ts';
import { ObjectiveInputError } from '../util/errors.ts';

export const DPO_LOSS_TYPES = ['sigmoid', 'hinge', 'ipo', 'robust'] as const;
export type DpoLossType = (typeof DPO_LOSS_TYPES)[number];

export interface DpoLossInput {
  /** Policy per-token log-probs of the chosen completions, [B, Tc]. */
  policyChosenLogps: tf.Tensor;
  /** Policy per-token log-probs of the rejected completions, [B, Tr]. */
  policyRejectedLogps: tf.Tensor;
  /** Reference log-probs of the chosen completions: per token [B, Tc], or already summed [B]. */
  refChosenLogps: tf.Tensor;
  /** Reference log-probs of the rejected completions: per token [B, Tr], or already summed [B]. */
  refRejectedLogps: tf.Tensor;
  /** 0/1 completion mask of the chosen completions, [B, Tc]. */
  chosenMask: tf.Tensor;
  /** 0/1 completion mask of the rejected completions, [B, Tr]. */
  rejectedMask: tf.Tensor;
  /** Strength of the KL constraint (> 0); typical 0.1. */
  beta: number;
  lossType: DpoLossType;
  /** Probability that a label is flipped, in [0, 0.5) (sigmoid and robust only); default 0. */
  labelSmoothing?: number;
}

export interface DpoLossOutput {
  /** Mean over pairs of the per-pair loss. */
  loss: tf.Scalar;
  /** beta * (log pi(y_w|x) - log pi_ref(y_w|x)), summed over the mask, no gradient, [B]. */
  chosenRewards: tf.Tensor1D;
  /** beta * (log pi(y_l|x) - log pi_ref(y_l|x)), no gradient, [B]. */
  rejectedRewards: tf.Tensor1D;
  /** Fraction of pairs with chosen reward > rejected reward. */
  rewardAccuracy: tf.Scalar;
  /** chosenRewards - rejectedRewards, [B]. */
  rewardMargins: tf.Tensor1D;
  /** Policy sequence log-probs (sums over the mask), no gradient, [B]: TRL's logps/chosen, logps/rejected. */
  chosenLogps: tf.Tensor1D;
  rejectedLogps: tf.Tensor1D;
}

export function dpoLoss(input: DpoLossInput): DpoLossOutput {
  const chosen = checkSide('policyChosenLogps', input.policyChosenLogps, 'chosenMask', input.chosenMask);
  const rejected = checkSide('policyRejectedLogps', input.policyRejectedLogps, 'rejectedMask', input.rejectedMask);
  requireSameBatch('policyChosenLogps', chosen.logps, 'policyRejectedLogps', rejected.logps);
  const refChosen = checkReference('refChosenLogps', input.refChosenLogps, 'policyChosenLogps', chosen.logps);
  const refRejected = checkReference('refRejectedLogps', input.refRejectedLogps, 'policyRejectedLogps', rejected.logps);
  const beta = requirePositive('beta', input.beta);
  const lossType = requireOneOf('lossType', input.lossType, DPO_LOSS_TYPES);
  const ls = input.labelSmoothing === undefined ? 0 : requireRange('labelSmoothing', input.labelSmoothing, 0, 0.5, true);
  if (ls > 0 && (lossType === 'hinge' || lossType === 'ipo')) {
    throw new ObjectiveInputError('labelSmoothing', `is only defined for lossType 'sigmoid' or 'robust', got lossType '${lossType}'`);
  }

  return tf.tidy(() => {
    const piW = sequenceSum(chosen.logps, chosen.mask); // [B]
    const piL = sequenceSum(rejected.logps, rejected.mask); // [B]
    const refW = referenceSum(refChosen, chosen.mask); // [B]
    const refL = referenceSum(refRejected, rejected.mask); // [B]
    const ratioW = tf.sub(piW, refW); // log pi/pi_ref of y_w, [B]
    const ratioL = tf.sub(piL, refL);

    let losses: tf.Tensor;
    if (lossType === 'ipo') {
      // IPO: h = (ratio_w / |y_w|) - (ratio_l / |y_l|); loss = (h - 1/(2 beta))^2.
      const h = tf.sub(tf.div(ratioW, tokenCounts(chosen.mask)), tf.div(ratioL, tokenCounts(rejected.mask)));
      losses = tf.square(tf.sub(h, 1 / (2 * beta)));
    } else {
      const z = tf.mul(beta, tf.sub(ratioW, ratioL)); // beta * h, [B]
      if (lossType === 'hinge') {
        losses = tf.relu(tf.sub(1, z));
      } else {
        const pos = tf.neg(logSigmoid(z)); // -log sigma(beta h)
        const neg = tf.neg(logSigmoid(tf.neg(z))); // -log sigma(-beta h)
        losses = lossType === 'sigmoid'
          ? tf.add(tf.mul(1 - ls, pos), tf.mul(ls, neg))
          : tf.div(tf.sub(tf.mul(1 - ls, pos), tf.mul(ls, neg)), 1 - 2 * ls);
      }
    }

    const chosenRewards = detach(tf.mul(beta, ratioW)) as tf.Tensor1D;
    const rejectedRewards = detach(tf.mul(beta, ratioL)) as tf.Tensor1D;
    return {
      loss: tf.mean(losses) as tf.Scalar,
      chosenRewards,
      rejectedRewards,
      rewardAccuracy: fraction(tf.greater(chosenRewards, rejectedRewards)),
      rewardMargins: tf.sub(chosenRewards, rejectedRewards) as tf.Tensor1D,
      chosenLogps: detach(piW),
      rejectedLogps: detach(piL),
    };
  });
}
