// The LinearModule contract of CONTRACTS.md (libs/model/src/linear.ts), restated structurally until
// @tuneloop/model's index exports it (issue 4); TypeScript's structural typing keeps the two identical.
import type * as tf from '@tensorflow/tfjs-core';

export interface LinearModule {
  readonly name: string; // HF module path, e.g. 'model.layers.0.self_attn.q_proj'
  readonly inFeatures: number;
  readonly outFeatures: number;
  forward(x: tf.Tensor2D): tf.Tensor2D; // [N, in] -> [N, out]
  trainableVariables(): tf.Variable[]; // [] for a frozen base linear
}
