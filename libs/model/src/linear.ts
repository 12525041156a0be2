// The linear layer every projection of the transformer uses, and the module type PEFT / quant wrap.
// Stores W^T [in, out] so that forward and both gradients are plain 2-D non-transposed matmuls (WASM's XNNPACK path).
import * as tf from '@tensorflow/tfjs-core';

/** One linear map y = x W^T + b, named by its Hugging Face module path. */
export interface LinearModule {
  readonly name: string; // HF module path, e.g. 'model.layers.0.self_attn.q_proj'
  readonly inFeatures: number;
  readonly outFeatures: number;
  forward(x: tf.Tensor2D): tf.Tensor2D; // [N, in] -> [N, out]
  trainableVariables(): tf.Variable[]; // [] for a frozen base linear
}

/**
 * y = x · wT + b with a custom gradient whose matmuls are all 2-D and non-transposed:
 *   dx  = dy · w          (w = wT^T, [out, in])
 *   dwT = x^T · dy        (x^T transposed explicitly, [in, N])
 *   db  = sum_rows(dy)
 * `wT` is [in, out]. Only gradients of tensors passed as inputs are computed.
 */
export function linearOp(x: tf.Tensor2D, wT: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor2D {
  if (b) {
    const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xIn, wIn, bIn, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      save([xIn, wIn]);
      const y = tf.add(tf.matMul(xIn as tf.Tensor2D, wIn as tf.Tensor2D), bIn);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
          const dy2 = dy as tf.Tensor2D;
          return [
            tf.matMul(dy2, tf.transpose(ws)), // [N, out] · [out, in] = [N, in]
            tf.matMul(tf.transpose(xs), dy2), // [in, N] · [N, out] = [in, out]
            tf.sum(dy2, 0), // [out]
          ];
        },
      };
    });
    return f(x, wT, b) as tf.Tensor2D;
  }
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, wIn, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([xIn, wIn]);
    return {
      value: tf.matMul(xIn as tf.Tensor2D, wIn as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        const dy2 = dy as tf.Tensor2D;
        return [
          tf.matMul(dy2, tf.transpose(ws)), // [N, out] · [out, in] = [N, in]
          tf.matMul(tf.transpose(xs), dy2), // [in, N] · [N, out] = [in, out]
        ];
      },
    };
  });
  return f(x, wT) as tf.Tensor2D;
}

/**
 * y = x · wT + b where wT and b are constants (frozen): only dx is computed, as dy · w with a cached
 * w = wT^T [out, in], so a frozen base under LoRA costs one plain matmul per backward.
 */
export function frozenLinearOp(x: tf.Tensor2D, wT: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor2D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xIn = args[0] as tf.Tensor;
    const xw = tf.matMul(xIn as tf.Tensor2D, wT); // [N, out]
    return {
      value: b ? tf.add(xw, b) : xw,
      gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, w), // [N, out] · [out, in] = [N, in]
    };
  });
  return f(x) as tf.Tensor2D;
}

/** The plain dense linear: a tf.Variable W^T [in, out] and an optional bias [out]. */
export class DenseLinear implements LinearModule {
  readonly name: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** W^T, [in, out]. */
  readonly weightT: tf.Variable<tf.Rank.R2>;
  readonly bias: tf.Variable<tf.Rank.R1> | null;
  private trainable: boolean;
  private frozenW: tf.Tensor2D | null = null; // cached [out, in] copy while frozen

  /** `weight` is in HF layout [out, in]; it is transposed once here (the caller keeps ownership). */
  constructor(name: string, weight: tf.Tensor2D, bias: tf.Tensor1D | null = null, trainable = true) {
    if (weight.rank !== 2) throw new Error(`${name}.weight: must be rank 2 [out, in], got shape [${weight.shape}]`);
    const [out, inF] = weight.shape;
    if (bias && (bias.rank !== 1 || bias.shape[0] !== out)) {
      throw new Error(`${name}.bias: must have shape [${out}], got [${bias.shape}]`);
    }
    this.name = name;
    this.inFeatures = inF;
    this.outFeatures = out;
    this.trainable = trainable;
    this.weightT = tf.tidy(() => tf.variable(tf.cast(tf.transpose(weight), 'float32') as tf.Tensor2D, trainable));
    this.bias = bias ? tf.tidy(() => tf.variable(tf.cast(bias, 'float32') as tf.Tensor1D, trainable)) : null;
  }

  get isTrainable(): boolean {
    return this.trainable;
  }

  /** Freeze or unfreeze W and b (partial fine-tuning, LoRA bases). */
  setTrainable(trainable: boolean): void {
    this.trainable = trainable;
    this.weightT.trainable = trainable;
    if (this.bias) this.bias.trainable = trainable;
    if (trainable && this.frozenW) {
      this.frozenW.dispose();
      this.frozenW = null;
    }
  }

  forward(x: tf.Tensor2D): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures) {
      throw new Error(`${this.name}: input must be [N, ${this.inFeatures}], got [${x.shape}]`);
    }
    if (this.trainable) return linearOp(x, this.weightT, this.bias ?? undefined);
    if (!this.frozenW) this.frozenW = tf.keep(tf.transpose(this.weightT));
    return frozenLinearOp(x, this.weightT, this.frozenW, this.bias ?? undefined);
  }

  trainableVariables(): tf.Variable[] {
    if (!this.trainable) return [];
    return this.bias ? [this.weightT, this.bias] : [this.weightT];
  }

  /** HF-layout weight [out, in] (a new tensor the caller owns). */
  weight(): tf.Tensor2D {
    return tf.transpose(this.weightT);
  }

  dispose(): void {
    this.weightT.dispose();
    this.bias?.dispose();
    this.frozenW?.dispose();
    this.frozenW = null;
  }
}
