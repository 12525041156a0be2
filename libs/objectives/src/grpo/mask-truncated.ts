// GRPO's mask_truncated_completions option (TRL; DAPO, Yu et al. 2025 Sec. 3.4 "overlong filtering"):
// completions cut off at the length limit contribute no tokens to the loss.
import * as tf from '@tensorflow/tfjs-core';
import { ObjectiveInputError } from '../util/errors.ts';
import { requireTensor } from '../util/validate.ts';

/** mask [B, T] with the rows of truncated completions zeroed. */
export function maskTruncatedCompletions(mask: tf.Tensor, truncated: boolean[]): tf.Tensor2D {
  requireTensor('mask', mask, 2);
  if (!Array.isArray(truncated) || truncated.length !== mask.shape[0] || truncated.some((t) => typeof t !== 'boolean')) {
    throw new ObjectiveInputError('truncated', `must be a boolean[] with one entry per completion (${mask.shape[0]})`);
  }
  return tf.tidy(() => tf.mul(tf.cast(mask, 'float32'), tf.tensor2d(truncated.map((t) => (t ? 0 : 1)), [truncated.length, 1])) as tf.Tensor2D);
}
