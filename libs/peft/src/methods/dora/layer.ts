// DoRA (Liu et al. 2024, "Weight-Decomposed Low-Rank Adaptation"): W' = m * (W + s B A) / ||W + s B A||_c,
// as a LoRA composition strategy. The norm is per output row of W [out, in] and taken without gradient, as PEFT does.
import * as tf from '@tensorflow/tfjs-core';
import { variableName } from '../../core/adapter-layer.ts';
import { denseWeightOf } from '../../core/linear.ts';
import type { LoraComposition, LoraLayer } from '../lora/layer.ts';

/** Identity forward, zero gradient (torch's .detach()). */
const detach = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  return { value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
});

/** ||W'||_c for W'^T [in, out]: the L2 norm of each output's weights, [out]. */
function columnNorm(wT: tf.Tensor2D): tf.Tensor1D {
  return tf.sqrt(tf.sum(tf.square(wT), 0)) as tf.Tensor1D;
}

export function doraComposition(prefix: string): (layer: LoraLayer) => LoraComposition {
  return (layer) => {
    const { weightT, bias } = denseWeightOf(layer.base); // frozen copies, [in, out] and [out]
    // m starts at ||W||_c (B = 0, so W + s B A = W at init)
    const m = tf.tidy(() => tf.variable(columnNorm(weightT), true, variableName(prefix, layer.name, 'lora_magnitude_vector')));
    return {
      tensors: new Map([['lora_magnitude_vector', m]]),
      combine(l, xd, baseOut, loraOut) {
        // PEFT DoraLinearLayer.forward: result += (m/||W + sBA|| - 1) * xW^T + (m/||W + sBA||) * s * lora(x)
        const norm = detach(columnNorm(tf.add(weightT, l.deltaWeightT()) as tf.Tensor2D)) as tf.Tensor1D; // [out]
        const scale = tf.div(m, norm); // [out], broadcast over rows
        const baseNoBias = l.dropoutActive ? tf.matMul(xd, weightT) : bias ? tf.sub(baseOut, bias) : baseOut; // [N, out]
        return tf.add(tf.add(baseOut, tf.mul(tf.sub(scale, 1), baseNoBias)), tf.mul(scale, loraOut));
      },
      mergedWeightT(baseWT, deltaWT) {
        const v = tf.add(baseWT, deltaWT) as tf.Tensor2D; // [in, out]
        return tf.mul(v, tf.div(m, columnNorm(v)));
      },
      dispose() {
        weightT.dispose();
        bias?.dispose();
      },
    };
  };
}
