// Bradley-Terry reward-model loss: -log sigmoid(r_chosen - r_rejected - margin), plus the optional
// reward-centering term coef * mean((r_chosen + r_rejected)^2). Ouyang et al. 2022 (InstructGPT) Eq. 1;
// margin as Llama 2 (Touvron et al. 2023, Eq. 2); centering as Eisenstein et al. 2023; TRL RewardTrainer.
import * as tf from '@tensorflow/tfjs-core';
import {
  requireFinite,
  requireNonEmptyBatch,
  requireNonNegative,
  requireSameShape,
  requireTensor,
} from '../util/validate.ts';
import { fraction, logSigmoid } from '../util/tensor.ts';

export interface BradleyTerryInput {
  /** Scalar reward of each chosen response, [B]. */
  rewardsChosen: tf.Tensor;
  /** Scalar reward of each rejected response, [B]. */
  rewardsRejected: tf.Tensor;
  /** Optional per-pair margin (e.g. from annotation strength), [B] or one number for all pairs. */
  margin?: tf.Tensor | number;
  /** Optional weight of the centering term mean((r_c + r_r)^2); 0 or absent disables it. */
  centerRewardsCoefficient?: number;
}

export interface BradleyTerryOutput {
  /** Mean over pairs of -log sigmoid(r_c - r_r - margin) (+ centering). */
  loss: tf.Scalar;
  /** Fraction of pairs with r_c > r_r (the margin does not enter). */
  accuracy: tf.Scalar;
  /** Mean of r_c - r_r. */
  meanMargin: tf.Scalar;
}

export function bradleyTerryLoss(input: BradleyTerryInput): BradleyTerryOutput {
  const rc = requireTensor('rewardsChosen', input.rewardsChosen, 1);
  const rr = requireTensor('rewardsRejected', input.rewardsRejected, 1);
  requireSameShape('rewardsChosen', rc, 'rewardsRejected', rr);
  requireNonEmptyBatch('rewardsChosen', rc);
  let margin: tf.Tensor | number = 0;
  if (input.margin !== undefined) {
    if (typeof input.margin === 'number') {
      margin = requireFinite('margin', input.margin);
    } else {
      margin = requireTensor('margin', input.margin, 1);
      requireSameShape('rewardsChosen', rc, 'margin', margin);
    }
  }
  const center = input.centerRewardsCoefficient === undefined
    ? 0
    : requireNonNegative('centerRewardsCoefficient', input.centerRewardsCoefficient);

  return tf.tidy(() => {
    const diff = tf.sub(rc, rr);
    let loss = tf.neg(tf.mean(logSigmoid(tf.sub(diff, margin))));
    if (center > 0) loss = tf.add(loss, tf.mul(center, tf.mean(tf.square(tf.add(rc, rr)))));
    return {
      loss: loss as tf.Scalar,
      accuracy: fraction(tf.greater(rc, rr)),
      meanMargin: tf.mean(diff) as tf.Scalar,
    };
  });
}
