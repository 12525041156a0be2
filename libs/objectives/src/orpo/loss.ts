// ORPO: monolithic preference optimisation without a reference model, as TRL's ORPOTrainer.
// Hong et al. 2024, Eq. 6-7: L = L_SFT - beta * log sigmoid(log odds(y_w|x) - log odds(y_l|x)),
// with odds(y|x) = P / (1 - P) and log P the mean per-token log-prob of the completion.
// Batch layout: row i of the chosen tensors and row i of the rejected tensors form pair i.
import * as tf from '@tensorflow/tfjs-core';
import { checkSide, requireSameBatch } from '../util/pair.ts';
import { detach, fraction, logSigmoid, maskedMean, sequenceMean } from '../util/tensor.ts';
import { requirePositive } from '../util/validate.ts';

export interface OrpoLossInput {
  /** Policy per-token log-probs of the chosen completions, [B, Tc]. */
  policyChosenLogps: tf.Tensor;
  /** Policy per-token log-probs of the rejected completions, [B, Tr]. */
  policyRejectedLogps: tf.Tensor;
  /** 0/1 completion masks, [B, Tc] and [B, Tr]. */
  chosenMask: tf.Tensor;
  rejectedMask: tf.Tensor;
  /** Weight of the odds-ratio term (the paper's lambda, > 0); typical 0.1. */
  beta: number;
}

export interface OrpoLossOutput {
  /** nllLoss - beta * mean(log sigmoid(log odds ratio)). */
  loss: tf.Scalar;
  /** Mean negative log-prob over all chosen completion tokens of the batch (a token mean). */
  nllLoss: tf.Scalar;
  /** mean over pairs of log sigmoid(log odds ratio): TRL's `log_odds_ratio`; no gradient. */
  logOddsRatio: tf.Scalar;
  /** mean over pairs of the log odds ratio itself: TRL's `log_odds_chosen`; no gradient. */
  logOddsChosen: tf.Scalar;
  /** beta * mean per-token log-prob of each chosen / rejected completion, no gradient, [B]. */
  chosenRewards: tf.Tensor1D;
  rejectedRewards: tf.Tensor1D;
  /** Fraction of pairs with chosen reward > rejected reward. */
  rewardAccuracy: tf.Scalar;
  /** Mean per-token log-probs of the chosen / rejected completions, no gradient, [B]. */
  chosenLogps: tf.Tensor1D;
  rejectedLogps: tf.Tensor1D;
}

// log(1 - exp(x)) is -Infinity at x = 0 (a completion of probability 1); the mean log-prob is
// capped just below 0 so the odds stay finite.
const MAX_MEAN_LOGP = -1e-6;

export function orpoLoss(input: OrpoLossInput): OrpoLossOutput {
  const chosen = checkSide('policyChosenLogps', input.policyChosenLogps, 'chosenMask', input.chosenMask);
  const rejected = checkSide('policyRejectedLogps', input.policyRejectedLogps, 'rejectedMask', input.rejectedMask);
  requireSameBatch('policyChosenLogps', chosen.logps, 'policyRejectedLogps', rejected.logps);
  const beta = requirePositive('beta', input.beta);

  return tf.tidy(() => {
    const c = tf.minimum(sequenceMean(chosen.logps, chosen.mask), MAX_MEAN_LOGP); // log P(y_w|x), [B]
    const r = tf.minimum(sequenceMean(rejected.logps, rejected.mask), MAX_MEAN_LOGP); // log P(y_l|x), [B]
    // log odds(y) = log P - log(1 - P); Eq. 7's ratio in log space.
    const logOdds = tf.sub(tf.sub(c, r), tf.sub(tf.log1p(tf.neg(tf.exp(c))), tf.log1p(tf.neg(tf.exp(r))))); // [B]
    const ratio = logSigmoid(logOdds); // [B]
    const nllLoss = tf.neg(maskedMean(chosen.logps, chosen.mask)) as tf.Scalar;
    const loss = tf.sub(nllLoss, tf.mul(beta, tf.mean(ratio))) as tf.Scalar;
    const chosenRewards = detach(tf.mul(beta, c)) as tf.Tensor1D;
    const rejectedRewards = detach(tf.mul(beta, r)) as tf.Tensor1D;
    return {
      loss,
      nllLoss,
      logOddsRatio: detach(tf.mean(ratio)) as tf.Scalar,
      logOddsChosen: detach(tf.mean(logOdds)) as tf.Scalar,
      chosenRewards,
      rejectedRewards,
      rewardAccuracy: fraction(tf.greater(chosenRewards, rejectedRewards)),
      chosenLogps: detach(c) as tf.Tensor1D,
      rejectedLogps: detach(r) as tf.Tensor1D,
    };
  });
}
