// Small ops that work around backend bugs so the math libraries behave the same on every backend.
import * as tf from '@tensorflow/tfjs-core';

/**
 * Float32 one-hot [..., depth]. tfjs-backend-wasm 4.22's OneHot ignores the dtype attribute and writes
 * int32 bits into a float32 tensor; building it as int32 and casting is correct everywhere.
 */
export function oneHotFloat(indices: tf.Tensor, depth: number): tf.Tensor {
  return tf.tidy(() => tf.cast(tf.oneHot(indices as tf.Tensor1D, depth), 'float32'));
}
