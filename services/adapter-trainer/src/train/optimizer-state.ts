// Checkpointable AdamW state: the step count and the first / second moments per named variable, through
// @tuneloop/engine's AdamW getState / setState.
import type * as tf from '@tensorflow/tfjs-core';
import type { AdamW, AdamWState } from '@tuneloop/engine';

export type { AdamWState } from '@tuneloop/engine';

export function exportAdamW(opt: AdamW, named: Map<string, tf.Variable>): AdamWState {
  return opt.getState(named);
}

/** Puts saved moments into a fresh AdamW for the same named variables; throws on an unknown name or a shape mismatch. */
export function importAdamW(opt: AdamW, named: Map<string, tf.Variable>, state: AdamWState): void {
  try {
    opt.setState(named, state);
  } catch (e) {
    throw new Error(`checkpoint: optimizer ${(e as Error).message}`, { cause: e });
  }
}
