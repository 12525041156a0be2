// RMSNorm (Zhang & Sennrich 2019) as in Llama: y = x / sqrt(mean(x^2) + eps) * weight, over the last axis.
import * as tf from '@tensorflow/tfjs-core';

export function rmsNorm(x: tf.Tensor2D, weight: tf.Tensor1D, eps: number): tf.Tensor2D {
  return tf.tidy(() => {
    const ms = tf.mean(tf.square(x), -1, true); // [N, 1]
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), weight) as tf.Tensor2D; // [N, d]
  });
}
