// The trainable tensors of a job's policy in and out of a checkpoint (TrainState.weights of @tuneloop/jobs).
import * as tf from '@tensorflow/tfjs-core';
import type { TrainState } from '@tuneloop/jobs';

/** A copy of every trainable tensor, by name. */
export function weightsOf(named: Map<string, tf.Variable>): TrainState['weights'] {
  return new Map([...named].map(([k, v]) => [k, { shape: [...v.shape], data: v.dataSync() as Float32Array }]));
}

/** Assigns checkpointed tensors; each must name a trainable tensor of this job with the same shape. */
export function restoreWeights(named: Map<string, tf.Variable>, weights: TrainState['weights']): void {
  for (const [name, w] of weights) {
    const v = named.get(name);
    if (!v || v.shape.join(',') !== w.shape.join(',')) throw new Error(`checkpoint: '${name}' [${w.shape}] is not a trainable tensor of this job`);
    const x = tf.tensor(w.data, w.shape);
    v.assign(x);
    x.dispose();
  }
}
