// The linear-module contract PEFT wraps (@tuneloop/model's LinearModule, CONTRACTS.md), and reading a base
// layer's dense weight W^T [in, out] + bias through whatever that base offers.
import * as tf from '@tensorflow/tfjs-core';
import type { LinearModule } from '@tuneloop/model';

export type { LinearModule } from '@tuneloop/model';

/** Optional capabilities a base linear may have (DenseLinear has weightT/bias; quantized ones dequantize). */
interface DenseLike {
  weightT?: tf.Tensor2D; // [in, out] (DenseLinear)
  bias?: tf.Tensor1D | Float32Array | null;
  dequantizedWeight?: () => Float32Array; // HF layout [out, in] flattened (QuantizedLinear)
  setTrainable?: (t: boolean) => void;
}

/** True when the base keeps its weight packed (it dequantizes rather than exposing W^T). */
export function isQuantizedBase(base: LinearModule): boolean {
  const d = base as unknown as DenseLike;
  return typeof d.dequantizedWeight === 'function' && !(d.weightT instanceof tf.Tensor);
}

/**
 * W^T [in, out] and bias [out] | null of a base linear, as new tensors the caller owns. Uses the
 * module's own W^T when it has one, its dequantizedWeight() when quantized, else probes forward with the
 * identity: forward(I) - forward(0) = W^T (exact for any affine module).
 */
export function denseWeightOf(base: LinearModule): { weightT: tf.Tensor2D; bias: tf.Tensor1D | null } {
  const d = base as unknown as DenseLike;
  const out = tf.tidy(() => {
    const [inF, outF] = [base.inFeatures, base.outFeatures];
    const zero = base.forward(tf.zeros([1, inF]) as tf.Tensor2D); // [1, out] = b
    const maxAbs = tf.max(tf.abs(zero)).dataSync()[0];
    let bias: tf.Tensor1D | null;
    if (d.bias instanceof tf.Tensor) bias = tf.clone(d.bias);
    else if (d.bias instanceof Float32Array) bias = tf.tensor1d(d.bias);
    else bias = maxAbs === 0 ? null : (tf.reshape(zero, [outF]) as tf.Tensor1D);
    let weightT: tf.Tensor2D;
    if (d.weightT instanceof tf.Tensor) weightT = tf.clone(d.weightT);
    else if (typeof d.dequantizedWeight === 'function') weightT = tf.transpose(tf.tensor2d(d.dequantizedWeight(), [outF, inF]));
    else weightT = tf.sub(base.forward(tf.eye(inF) as tf.Tensor2D), zero); // [in, out]
    return bias ? [weightT, bias] : [weightT];
  });
  return { weightT: out[0] as tf.Tensor2D, bias: (out[1] as tf.Tensor1D | undefined) ?? null };
}

/** Freeze a base linear when it supports it (DenseLinear.setTrainable). */
export function freezeBase(base: LinearModule): void {
  const d = base as unknown as DenseLike;
  if (typeof d.setTrainable === 'function') d.setTrainable(false);
}

/** A frozen dense linear over a fixed W^T: what merge produces. */
export class FrozenDense implements LinearModule {
  constructor(
    readonly name: string,
    readonly weightT: tf.Tensor2D, // [in, out], owned
    readonly bias: tf.Tensor1D | null, // [out], owned
  ) {}
  get inFeatures(): number {
    return this.weightT.shape[0];
  }
  get outFeatures(): number {
    return this.weightT.shape[1];
  }
  forward(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy((): tf.Tensor2D => {
      const y: tf.Tensor2D = tf.matMul(x, this.weightT); // [N, out]
      return this.bias ? (tf.add(y, this.bias) as tf.Tensor2D) : y;
    });
  }
  trainableVariables(): tf.Variable[] {
    return [];
  }
  dispose(): void {
    this.weightT.dispose();
    this.bias?.dispose();
  }
}
