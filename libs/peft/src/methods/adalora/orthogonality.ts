// AdaLoRA's orthogonality regulariser (Zhang et al. 2023, Eq. 4), as an objective term the trainer adds to
// the loss: orth_reg_weight * mean over P, Q of ||P P^T - I||_F (P = lora_A [r, in]) and ||Q^T Q - I||_F (Q = lora_B [out, r]).
import * as tf from '@tensorflow/tfjs-core';
import type { ObjectiveTerm } from '../../core/host.ts';
import type { SvdLayer } from './layer.ts';

export function orthogonalityTerm(layers: Map<string, SvdLayer>, weight: number): ObjectiveTerm {
  return {
    name: 'adalora/orth_reg',
    compute(): tf.Scalar {
      return tf.tidy(() => {
        const terms: tf.Scalar[] = [];
        for (const l of layers.values()) {
          const Pt = l.tensor('lora_A') as tf.Tensor2D; // P^T [in, r]
          const Qt = l.tensor('lora_B') as tf.Tensor2D; // Q^T [r, out]
          // P P^T = (P^T)^T P^T and Q^T Q = Q^T (Q^T)^T, both [r, r]
          for (const cov of [tf.matMul(tf.transpose(Pt), Pt), tf.matMul(Qt, tf.transpose(Qt))]) {
            const d = tf.sub(cov, tf.eye(cov.shape[0])); // [r, r]
            terms.push(tf.sqrt(tf.sum(tf.square(d))) as tf.Scalar);
          }
        }
        if (terms.length === 0) return tf.scalar(0);
        return tf.mul(tf.div(tf.addN(terms), terms.length), weight) as tf.Scalar;
      });
    },
  };
}
