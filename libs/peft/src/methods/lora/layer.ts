// LoRA layer (Hu et al. 2021): y = base(x) + s * (dropout(x) A^T) B^T with A [r, in], B [out, r] (PEFT layout;
// held as A^T [in, r], B^T [r, out] for plain matmuls). Variants plug in as strategies: the scaling s
// (LoRA alpha/r, rsLoRA alpha/sqrt(r)) and the composition (additive, DoRA).
import * as tf from '@tensorflow/tfjs-core';
import { linearOp } from '@tuneloop/model';
import { AdapterLinear, variableName } from '../../core/adapter-layer.ts';
import type { LinearModule } from '../../core/linear.ts';
import { deriveSeed, kaimingUniform, normalTensor } from '../../core/random.ts';
import type { LoraInit } from './config.ts';

/** How alpha and r become the scale s. */
export interface LoraScaling {
  readonly name: string;
  scale(alpha: number, r: number): number;
}
export const standardScaling: LoraScaling = { name: 'lora', scale: (alpha, r) => alpha / r };
/** rsLoRA, Kalajdzievski 2023: s = alpha / sqrt(r). */
export const rsloraScaling: LoraScaling = { name: 'rslora', scale: (alpha, r) => alpha / Math.sqrt(r) };

/** How the base output and the scaled low-rank output combine; may add tensors of its own (DoRA's magnitude). */
export interface LoraComposition {
  /** Extra tensors (trainable), by PEFT local name. */
  readonly tensors: Map<string, tf.Variable>;
  combine(layer: LoraLayer, xd: tf.Tensor2D, baseOut: tf.Tensor2D, loraOut: tf.Tensor2D): tf.Tensor2D;
  /** Merged W'^T [in, out] from the base W^T and the scaled delta s * (B A)^T. */
  mergedWeightT(baseWT: tf.Tensor2D, deltaWT: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

/** Plain LoRA: y = base(x) + s * lora(x). */
export const additiveComposition = (): LoraComposition => ({
  tensors: new Map(),
  combine: (_layer, _xd, baseOut, loraOut) => tf.add(baseOut, loraOut),
  mergedWeightT: (baseWT, deltaWT) => tf.add(baseWT, deltaWT),
  dispose: () => undefined,
});

export interface LoraLayerOptions {
  r: number;
  alpha: number;
  dropout: number;
  init: LoraInit;
  scaling: LoraScaling;
  composition: (layer: LoraLayer) => LoraComposition;
  seed: number;
  prefix: string;
}

export class LoraLayer extends AdapterLinear {
  readonly r: number;
  readonly scale: number;
  readonly At: tf.Variable<tf.Rank.R2>; // lora_A.weight^T, [in, r]
  readonly Bt: tf.Variable<tf.Rank.R2>; // lora_B.weight^T, [r, out]
  readonly composition: LoraComposition;
  readonly tensors: Map<string, tf.Variable>;
  readonly trainableNames: readonly string[];
  protected override readonly transposedNames = new Set(['lora_A.weight', 'lora_B.weight']);

  constructor(base: LinearModule, o: LoraLayerOptions) {
    const seed = deriveSeed(o.seed, base.name);
    super(base, o.dropout, seed);
    this.r = o.r;
    this.scale = o.scaling.scale(o.alpha, o.r);
    const [inF, outF] = [base.inFeatures, base.outFeatures];
    this.At = tf.tidy(() => {
      // PEFT reset_lora_parameters: Kaiming-uniform(a=sqrt 5) or N(0, 1/r) for A [r, in]
      const a = o.init === 'gaussian' ? normalTensor([o.r, inF], 1 / o.r, seed + 1) : kaimingUniform([o.r, inF], seed + 1);
      return tf.variable(tf.transpose(a) as tf.Tensor2D, true, variableName(o.prefix, base.name, 'lora_A.weight'));
    });
    this.Bt = tf.tidy(() => {
      // B = 0 so a fresh adapter is a no-op; init false keeps nn.Linear's random init of B [out, r] (fan_in = r)
      const b = o.init === false ? kaimingUniform([outF, o.r], seed + 2) : tf.zeros([outF, o.r]);
      return tf.variable(tf.transpose(b) as tf.Tensor2D, true, variableName(o.prefix, base.name, 'lora_B.weight'));
    });
    this.tensors = new Map<string, tf.Variable>([
      ['lora_A.weight', this.At],
      ['lora_B.weight', this.Bt],
    ]);
    this.composition = o.composition(this);
    for (const [k, v] of this.composition.tensors) this.tensors.set(k, v);
    this.trainableNames = [...this.tensors.keys()];
  }

  /** True while dropout changes the adapter input. */
  get dropoutActive(): boolean {
    return this.training && this.dropout > 0;
  }

  /** s * (B A)^T = s * A^T B^T, [in, out]. */
  deltaWeightT(): tf.Tensor2D {
    return tf.tidy(() => tf.mul(linearOp(this.At, this.Bt), this.scale));
  }

  protected adapt(x: tf.Tensor2D, baseOut: tf.Tensor2D): tf.Tensor2D {
    const xd = this.dropped(x);
    const down = linearOp(xd, this.At); // [N, in] · [in, r] = [N, r]
    const up = linearOp(down, this.Bt); // [N, r] · [r, out] = [N, out]
    return this.composition.combine(this, xd, baseOut, tf.mul(up, this.scale));
  }

  protected mergedWeightT(baseWT: tf.Tensor2D): tf.Tensor2D {
    return this.composition.mergedWeightT(baseWT, this.deltaWeightT());
  }

  override dispose(): void {
    super.dispose();
    this.composition.dispose();
  }
}
