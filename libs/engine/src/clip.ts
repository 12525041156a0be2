// Gradient clipping by global norm (Pascanu et al. 2013): g <- g * min(1, maxNorm / ||g||_2 over all tensors).
import * as tf from '@tensorflow/tfjs-core';

/** Global L2 norm of a set of gradients, as a scalar tensor. */
export function globalNorm(grads: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => {
    if (grads.length === 0) return tf.scalar(0);
    const sq = grads.map((g) => tf.sum(tf.square(g)));
    return tf.sqrt(tf.addN(sq)) as tf.Scalar;
  });
}

/**
 * Returns clipped gradients (new tensors, same keys) and the norm before clipping. The caller owns and
 * disposes both the inputs and the outputs.
 */
export function clipByGlobalNorm(
  grads: Record<string, tf.Tensor>,
  maxNorm: number,
): { grads: Record<string, tf.Tensor>; norm: number } {
  if (!(maxNorm > 0)) throw new Error(`maxNorm: must be > 0, got ${maxNorm}`);
  const keys = Object.keys(grads);
  const normT = globalNorm(keys.map((k) => grads[k]));
  const norm = normT.dataSync()[0];
  normT.dispose();
  const scale = norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
  const out: Record<string, tf.Tensor> = {};
  for (const k of keys) out[k] = scale === 1 ? tf.clone(grads[k]) : tf.mul(grads[k], scale);
  return { grads: out, norm };
}
