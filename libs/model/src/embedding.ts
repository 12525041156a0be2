// Token embedding lookup with a gradient that runs on every backend: stock gather's gradient needs
// UnsortedSegmentSum (absent on WASM), so dE = onehot(ids)^T · dY is built as one plain 2-D matmul.
import * as tf from '@tensorflow/tfjs-core';
import { oneHotFloat } from '@tuneloop/engine';

/** rows of `table` [V, d] at `ids` [N] (int32) -> [N, d]; differentiable in `table` only. */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  if (ids.dtype !== 'int32') throw new Error(`ids: must be int32, got ${ids.dtype}`);
  const vocab = table.shape[0];
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [tableIn, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    save([ids]); // ids may be freed by the caller's tidy before the backward pass runs
    return {
      value: tf.gather(tableIn, ids),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const oneHotT = tf.transpose(oneHotFloat(saved[0], vocab)); // [V, N]
        return tf.matMul(oneHotT as tf.Tensor2D, dy as tf.Tensor2D); // [V, N] · [N, d] = [V, d]
      },
    };
  });
  return f(table) as tf.Tensor2D;
}
