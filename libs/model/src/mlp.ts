// SwiGLU feed-forward (Shazeer 2020) as in HF LlamaMLP: down(silu(gate(x)) * up(x)).
import * as tf from '@tensorflow/tfjs-core';
import type { LinearModule } from './linear.ts';

/** x [N, d] -> [N, d]. */
export function swiGlu(x: tf.Tensor2D, proj: { gate: LinearModule; up: LinearModule; down: LinearModule }): tf.Tensor2D {
  const g = proj.gate.forward(x); // [N, I]
  const silu = tf.mul(g, tf.sigmoid(g)); // [N, I]
  return proj.down.forward(tf.mul(silu, proj.up.forward(x)) as tf.Tensor2D);
}
