// Masked whitening of advantages, as TRL's masked_whiten: (x - mean) / sqrt(var + 1e-8) with the
// masked mean and the unbiased (Bessel-corrected) masked variance; 0 outside the mask.
import * as tf from '@tensorflow/tfjs-core';
import { ObjectiveInputError } from '../util/errors.ts';
import { applyMask, maskFloat } from '../util/tensor.ts';
import { requireSameShape, requireTensor } from '../util/validate.ts';

export const WHITEN_EPS = 1e-8;

export function whiten(x: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  requireTensor('x', x, x instanceof tf.Tensor ? x.rank : 2);
  requireTensor('mask', mask, x.rank);
  requireSameShape('x', x, 'mask', mask);
  const n = tf.tidy(() => tf.sum(maskFloat(mask)).dataSync()[0]);
  if (n < 2) throw new ObjectiveInputError('mask', `needs at least 2 unmasked entries for an unbiased variance, got ${n}`);
  return tf.tidy(() => {
    const mean = tf.div(tf.sum(applyMask(x, mask)), n);
    const centered = applyMask(tf.sub(x, mean), mask);
    const variance = tf.div(tf.sum(tf.square(centered)), n - 1);
    return tf.mul(centered, tf.rsqrt(tf.add(variance, WHITEN_EPS)));
  });
}
