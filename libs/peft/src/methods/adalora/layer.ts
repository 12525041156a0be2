// AdaLoRA SVD-form layer (Zhang et al. 2023): y = base(x) + (dropout(x) (P * lambda)^T Q^T) * alpha / (ranknum + 1e-5),
// with P = lora_A [r, in], lambda = lora_E [r, 1], Q = lora_B [out, r] as in PEFT's SVDLinear (P and Q held
// transposed, P^T [in, r] and Q^T [r, out], for plain matmuls); ranknum is frozen.
import * as tf from '@tensorflow/tfjs-core';
import { linearOp } from '@tuneloop/model';
import { AdapterLinear, variableName } from '../../core/adapter-layer.ts';
import type { LinearModule } from '../../core/linear.ts';
import { deriveSeed, normalTensor } from '../../core/random.ts';
import type { LoraInit } from '../lora/config.ts';

export interface SvdLayerOptions {
  r: number; // current rank (init_r, or the kept count after allocation)
  ranknum: number; // the divisor: init_r (PEFT keeps it fixed)
  alpha: number;
  dropout: number;
  init: LoraInit;
  seed: number;
  prefix: string;
}

export class SvdLayer extends AdapterLinear {
  readonly tensors: Map<string, tf.Variable>;
  readonly trainableNames = ['lora_A', 'lora_B', 'lora_E'] as const;
  protected override readonly transposedNames = new Set(['lora_A', 'lora_B']);
  readonly scaling: number;

  constructor(base: LinearModule, o: SvdLayerOptions) {
    const seed = deriveSeed(o.seed, base.name);
    super(base, o.dropout, seed);
    this.scaling = o.alpha > 0 ? o.alpha : o.r; // PEFT: lora_alpha if > 0 else r
    const v = (name: string, make: () => tf.Tensor, trainable = true) =>
      tf.tidy(() => tf.variable(make(), trainable, variableName(o.prefix, base.name, name)));
    // PEFT reset_lora_parameters: E = 0, A and B ~ N(0, 0.02^2); init false keeps a random E (non-zero adapter)
    this.tensors = new Map([
      ['lora_A', v('lora_A', () => tf.transpose(normalTensor([o.r, base.inFeatures], 0.02, seed + 1)))], // P^T [in, r]
      ['lora_B', v('lora_B', () => tf.transpose(normalTensor([base.outFeatures, o.r], 0.02, seed + 2)))], // Q^T [r, out]
      ['lora_E', v('lora_E', () => (o.init === false ? normalTensor([o.r, 1], 1, seed + 3) : tf.zeros([o.r, 1])))],
      ['ranknum', v('ranknum', () => tf.tensor1d([o.ranknum]), false)],
    ]);
  }

  get rank(): number {
    return this.tensor('lora_E').shape[0];
  }

  private factor(): tf.Scalar {
    return tf.div(this.scaling, tf.add(tf.reshape(this.tensor('ranknum'), []), 1e-5)) as tf.Scalar;
  }

  /** (P * lambda)^T = P^T * lambda^T, [in, r]. */
  private scaledPt(): tf.Tensor2D {
    return tf.mul(this.tensor('lora_A'), tf.reshape(this.tensor('lora_E'), [1, -1])) as tf.Tensor2D;
  }

  protected adapt(x: tf.Tensor2D, baseOut: tf.Tensor2D): tf.Tensor2D {
    const down = linearOp(this.dropped(x), this.scaledPt()); // [N, in] · [in, r] = [N, r]
    const up = linearOp(down, this.tensor('lora_B') as tf.Tensor2D); // [N, r] · [r, out] = [N, out]
    return tf.add(baseOut, tf.mul(up, this.factor()));
  }

  /** W^T + (Q (P * lambda))^T * factor = W^T + (P * lambda)^T Q^T * factor, [in, out]. */
  protected mergedWeightT(baseWT: tf.Tensor2D): tf.Tensor2D {
    return tf.add(baseWT, tf.mul(linearOp(this.scaledPt(), this.tensor('lora_B') as tf.Tensor2D), this.factor()));
  }
}
