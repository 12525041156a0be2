// Tensor helpers shared by the losses: masked sequence sums / means over [B, T] per-token
// log-probs (padding may hold any value, even -Infinity) and a gradient stop.
import * as tf from '@tensorflow/tfjs-core';

/** Padding-safe masking: x where mask > 0, else 0 (also turns padded -Infinity / NaN into 0). */
export function applyMask(x: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  return tf.where(tf.greater(mask, 0), x, tf.zerosLike(x));
}

/** Float 0/1 copy of a mask of any numeric dtype. */
export function maskFloat(mask: tf.Tensor): tf.Tensor {
  return tf.cast(tf.greater(mask, 0), 'float32');
}

/** Sum over the completion tokens: [B, T] -> [B]. */
export function sequenceSum(logps: tf.Tensor, mask: tf.Tensor): tf.Tensor1D {
  return tf.sum(applyMask(logps, mask), 1) as tf.Tensor1D;
}

/** Token count per row, at least 1 so an empty row gives 0 rather than NaN: [B, T] -> [B]. */
export function tokenCounts(mask: tf.Tensor): tf.Tensor1D {
  return tf.maximum(tf.sum(maskFloat(mask), 1), 1) as tf.Tensor1D;
}

/** Mean over the completion tokens (length-normalised log-prob): [B, T] -> [B]. */
export function sequenceMean(logps: tf.Tensor, mask: tf.Tensor): tf.Tensor1D {
  return tf.div(sequenceSum(logps, mask), tokenCounts(mask)) as tf.Tensor1D;
}

/** Token mean over every masked position of the batch: [B, T] -> scalar. */
export function maskedMean(x: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.div(tf.sum(applyMask(x, mask)), tf.maximum(tf.sum(maskFloat(mask)), 1)) as tf.Scalar;
}

/** Identity in the forward pass, zero gradient (torch's `.detach()`). */
export const detach: <T extends tf.Tensor>(x: T) => T = (() => {
  const op = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.clone(inputs[0] as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  }));
  return <T extends tf.Tensor>(x: T) => op(x) as T;
})();

/** Fraction of true entries of a boolean/0-1 vector, as a float scalar. */
export function fraction(x: tf.Tensor): tf.Scalar {
  return tf.mean(tf.cast(x, 'float32')) as tf.Scalar;
}

/** Sequence log-prob of a reference input: summed over the mask when per-token [B, T], as is when [B]; no gradient. */
export function referenceSum(ref: tf.Tensor, mask: tf.Tensor): tf.Tensor1D {
  return detach(ref.rank === 1 ? (tf.cast(ref, 'float32') as tf.Tensor1D) : sequenceSum(ref, mask));
}

/**
 * log sigmoid(x) = -softplus(-x), built from kernels with registered gradients (tf.logSigmoid's
 * custom gradient closes over its input, which an enclosing tf.tidy disposes before backprop).
 */
export function logSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.neg(tf.softplus(tf.neg(x)));
}
