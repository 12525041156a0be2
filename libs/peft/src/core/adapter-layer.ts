// The shared shape of an adapter around a frozen base linear: it declares its tensors by PEFT local
// name ('lora_A.weight') and which of them train; forward, merge, unmerge, load and counting use that list.
import * as tf from '@tensorflow/tfjs-core';
import { FrozenDense, denseWeightOf, isQuantizedBase, type LinearModule } from './linear.ts';

/** What merging one module did (QLoRA: the packed base had to be dequantized to fp32). */
export interface MergeReport {
  module: string;
  dequantized: boolean;
}

let instanceCounter = 0;

/** Unique tfjs variable name: `<prefix>/<module>/<tensor>#<n>` (tfjs variable names are global). */
export function variableName(prefix: string, module: string, tensor: string): string {
  instanceCounter += 1;
  return `${prefix}/${module}/${tensor}#${instanceCounter}`;
}

export abstract class AdapterLinear implements LinearModule {
  readonly name: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Dropout on the adapter's input is active only while training. */
  training = false;
  private mergedDense: FrozenDense | null = null;
  private dropoutSeed: number;

  /**
   * Every tensor this layer saves, by PEFT local name (e.g. lora_A.weight). Names in `transposedNames` are
   * held transposed (A^T [in, r]) so that forward and backward are plain non-transposed matmuls (WASM's fast path).
   */
  abstract readonly tensors: Map<string, tf.Variable>;
  /** Names whose variable is the transpose of the PEFT-layout tensor. */
  protected readonly transposedNames: ReadonlySet<string> = new Set();
  /** The names (keys of `tensors`) that receive gradients. */
  abstract readonly trainableNames: readonly string[];

  constructor(
    readonly base: LinearModule,
    readonly dropout: number,
    seed: number,
  ) {
    this.name = base.name;
    this.inFeatures = base.inFeatures;
    this.outFeatures = base.outFeatures;
    this.dropoutSeed = seed;
  }

  /** Output given the input x [N, in] and the base output [N, out]. */
  protected abstract adapt(x: tf.Tensor2D, baseOut: tf.Tensor2D): tf.Tensor2D;

  /** The merged weight W'^T [in, out] from the base W^T [in, out]. */
  protected abstract mergedWeightT(baseWT: tf.Tensor2D): tf.Tensor2D;

  get merged(): boolean {
    return this.mergedDense !== null;
  }

  forward(x: tf.Tensor2D): tf.Tensor2D {
    if (this.mergedDense) return this.mergedDense.forward(x);
    return tf.tidy(() => this.adapt(x, this.base.forward(x)));
  }

  /** x with dropout applied when training (seeded, advancing per call). */
  protected dropped(x: tf.Tensor2D): tf.Tensor2D {
    if (!this.training || this.dropout <= 0) return x;
    this.dropoutSeed = (this.dropoutSeed + 1) >>> 0;
    return tf.dropout(x, this.dropout, undefined, this.dropoutSeed) as tf.Tensor2D;
  }

  trainableVariables(): tf.Variable[] {
    if (this.mergedDense) return [];
    return this.trainableNames.map((n) => this.tensor(n));
  }

  tensor(name: string): tf.Variable {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`${this.name}: no adapter tensor '${name}' (has ${[...this.tensors.keys()].join(', ')})`);
    return t;
  }

  /** A tensor in PEFT layout (a new tensor the caller owns). */
  exportTensor(name: string): tf.Tensor {
    const v = this.tensor(name);
    return this.transposedNames.has(name) ? tf.transpose(v) : tf.clone(v);
  }

  /** The PEFT-layout shape of a tensor. */
  peftShape(name: string): number[] {
    const s = this.tensor(name).shape;
    return this.transposedNames.has(name) ? [...s].reverse() : [...s];
  }

  /** Overwrite a tensor's values from PEFT layout (load); the shape must match. */
  setTensor(name: string, value: tf.Tensor): void {
    const v = this.tensor(name);
    const want = this.peftShape(name);
    if (value.shape.join(',') !== want.join(',')) {
      throw new Error(`${this.name}.${name}: shape must be [${want}], got [${value.shape}]`);
    }
    tf.tidy(() => v.assign(tf.cast(this.transposedNames.has(name) ? tf.transpose(value) : value, 'float32')));
  }

  /** Fold the adapter into a dense weight; forward then runs one matmul. Dequantizes a packed base. */
  merge(): MergeReport {
    const dequantized = isQuantizedBase(this.base);
    if (this.mergedDense) return { module: this.name, dequantized };
    const { weightT, bias } = denseWeightOf(this.base);
    const merged = tf.tidy(() => this.mergedWeightT(weightT));
    weightT.dispose();
    this.mergedDense = new FrozenDense(this.name, merged, bias);
    return { module: this.name, dequantized };
  }

  /** Back to base + adapter (the base itself was never modified, so this is exact). */
  unmerge(): void {
    this.mergedDense?.dispose();
    this.mergedDense = null;
  }

  /** The merged module, to put in the model in place of this adapter (merge_and_unload). */
  takeMerged(): FrozenDense {
    this.merge();
    const m = this.mergedDense as FrozenDense;
    this.mergedDense = null;
    return m;
  }

  dispose(): void {
    this.unmerge();
    for (const v of this.tensors.values()) v.dispose();
  }
}
