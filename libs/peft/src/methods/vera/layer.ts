// VeRA layer (Kopiczko et al. 2024): y = base(x) + b * ((d * (dropout(x) A_s^T)) B_s^T), with A, B frozen,
// random and shared by every layer (A_s = A[:, :in], B_s = B[:out, :], as PEFT slices them); only d [r] and b [out] train.
// The slices are kept transposed too, so the matmuls are plain (WASM's fast path).
import * as tf from '@tensorflow/tfjs-core';
import { frozenLinearOp } from '@tuneloop/model';
import { AdapterLinear, variableName } from '../../core/adapter-layer.ts';
import type { LinearModule } from '../../core/linear.ts';
import { deriveSeed, normalTensor } from '../../core/random.ts';

export interface VeraLayerOptions {
  r: number;
  dropout: number;
  dInitial: number;
  initWeights: boolean;
  seed: number;
  prefix: string;
}

export class VeraLayer extends AdapterLinear {
  readonly tensors: Map<string, tf.Variable>;
  readonly trainableNames = ['vera_lambda_b', 'vera_lambda_d'] as const;
  private aSlice!: tf.Tensor2D; // A_s [r, in]
  private bSlice!: tf.Tensor2D; // B_s [out, r]
  private aSliceT!: tf.Tensor2D; // A_s^T [in, r]
  private bSliceT!: tf.Tensor2D; // B_s^T [r, out]

  constructor(base: LinearModule, A: tf.Tensor2D, B: tf.Tensor2D, o: VeraLayerOptions) {
    const seed = deriveSeed(o.seed, base.name);
    super(base, o.dropout, seed);
    const lambdaB = tf.tidy(() =>
      tf.variable(o.initWeights ? tf.zeros([base.outFeatures]) : tf.ones([base.outFeatures]), true, variableName(o.prefix, base.name, 'vera_lambda_b')),
    );
    const lambdaD = tf.tidy(() =>
      tf.variable(o.initWeights ? tf.fill([o.r], o.dInitial) : normalTensor([o.r], 1, seed + 1), true, variableName(o.prefix, base.name, 'vera_lambda_d')),
    );
    this.tensors = new Map([
      ['vera_lambda_b', lambdaB],
      ['vera_lambda_d', lambdaD],
    ]);
    this.setProjections(A, B);
  }

  /** (Re)slice the shared projections: A [r, max_in], B [max_out, r]. */
  setProjections(A: tf.Tensor2D, B: tf.Tensor2D): void {
    if (A.shape[1] < this.inFeatures || B.shape[0] < this.outFeatures) {
      throw new Error(`${this.name}: vera_A [${A.shape}] / vera_B [${B.shape}] are too small for [${this.outFeatures}, ${this.inFeatures}]`);
    }
    tf.dispose([this.aSlice, this.bSlice, this.aSliceT, this.bSliceT].filter((t) => t !== undefined));
    this.aSlice = tf.slice(A, [0, 0], [A.shape[0], this.inFeatures]);
    this.bSlice = tf.slice(B, [0, 0], [this.outFeatures, B.shape[1]]);
    this.aSliceT = tf.transpose(this.aSlice);
    this.bSliceT = tf.transpose(this.bSlice);
  }

  protected adapt(x: tf.Tensor2D, baseOut: tf.Tensor2D): tf.Tensor2D {
    const [b, d] = [this.tensor('vera_lambda_b'), this.tensor('vera_lambda_d')];
    const down = tf.mul(frozenLinearOp(this.dropped(x), this.aSliceT, this.aSlice), d) as tf.Tensor2D; // [N, r]
    const up = frozenLinearOp(down, this.bSliceT, this.bSlice); // [N, out]
    return tf.add(baseOut, tf.mul(up, b));
  }

  /** W^T + ((b B_s) (d A_s))^T, [in, out]. */
  protected mergedWeightT(baseWT: tf.Tensor2D): tf.Tensor2D {
    const [b, d] = [this.tensor('vera_lambda_b'), this.tensor('vera_lambda_d')];
    const dAt = tf.mul(this.aSliceT, d) as tf.Tensor2D; // (d A_s)^T [in, r]
    const bBt = tf.mul(this.bSliceT, b) as tf.Tensor2D; // (b B_s)^T [r, out]
    return tf.add(baseWT, tf.matMul(dAt, bBt)); // [in, r] · [r, out]
  }

  override dispose(): void {
    super.dispose();
    tf.dispose([this.aSlice, this.bSlice, this.aSliceT, this.bSliceT]);
  }
}
