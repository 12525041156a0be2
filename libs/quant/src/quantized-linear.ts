// A frozen linear layer whose weight stays packed (QLoRA, Dettmers et al. 2023): codes + block scales
// in memory, dequantized tile by tile of output rows for each matmul, differentiable w.r.t. x only.
import * as tf from '@tensorflow/tfjs-core';
import type { LinearModule } from '@tuneloop/model';
import { dequantizeRange, quantize } from './quantize.ts';
import { storageBytes } from './metrics.ts';
import type { QuantizeOptions, QuantizedTensor } from './types.ts';
import { QuantInputError, checkQuantized } from './validate.ts';

/** Default upper bound on one dequantized tile: 2^20 values (4 MiB of float32). */
export const DEFAULT_TILE_ELEMENTS = 1 << 20;

export interface QuantizedLinearOptions {
  /** Most weight values dequantized at once (a tile is a run of whole output rows). */
  tileElements?: number;
}

export class QuantizedLinear implements LinearModule {
  readonly name: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** The packed weight, HF layout [out, in] flattened row-major. */
  readonly weight: QuantizedTensor;
  /** Optional float32 bias [out] (not quantized). */
  readonly bias: Float32Array | null;
  /** Output rows per tile. */
  readonly tileRows: number;

  constructor(name: string, weight: QuantizedTensor, bias: Float32Array | null = null, opts: QuantizedLinearOptions = {}) {
    checkQuantized(weight, `${name}.weight`);
    if (weight.shape.length !== 2) {
      throw new QuantInputError(`${name}.weight.shape`, `must be [out, in], got [${weight.shape.join(', ')}]`);
    }
    const [out, inF] = weight.shape;
    if (bias !== null && (!(bias instanceof Float32Array) || bias.length !== out)) {
      throw new QuantInputError(`${name}.bias`, `must be a Float32Array of ${out} values, got length ${bias?.length}`);
    }
    const tileElements = opts.tileElements ?? DEFAULT_TILE_ELEMENTS;
    if (!Number.isInteger(tileElements) || tileElements < 1) {
      throw new QuantInputError('tileElements', `must be an integer >= 1, got ${tileElements}`);
    }
    this.name = name;
    this.outFeatures = out;
    this.inFeatures = inF;
    this.weight = weight;
    this.bias = bias;
    this.tileRows = Math.max(1, Math.min(out, Math.floor(tileElements / inF)));
  }

  /** y = x W^T + b, [N, in] -> [N, out]. The gradient flows to x only (dx = dy W, re-dequantized). */
  forward(x: tf.Tensor2D): tf.Tensor2D {
    if (!(x instanceof tf.Tensor) || x.rank !== 2 || x.shape[1] !== this.inFeatures) {
      const shape = x instanceof tf.Tensor ? `[${x.shape.join(', ')}]` : typeof x;
      throw new QuantInputError(`${this.name}: x`, `must be a 2-D tensor [N, ${this.inFeatures}], got ${shape}`);
    }
    if (x.dtype !== 'float32') throw new QuantInputError(`${this.name}: x`, `must have dtype float32, got ${x.dtype}`);
    const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const xIn = args[0] as tf.Tensor2D;
      const xw = this.matmulWT(xIn);
      const value = this.bias ? tf.tidy(() => tf.add(xw, tf.tensor1d(this.bias as Float32Array))) : xw;
      if (value !== xw) xw.dispose();
      return { value, gradFunc: (dy: tf.Tensor) => this.matmulW(dy as tf.Tensor2D) };
    });
    return f(x) as tf.Tensor2D;
  }

  trainableVariables(): tf.Variable[] {
    return [];
  }

  /** Rows [r0, r1) of W decoded to a [rows, in] tensor (HF layout, the order the codes are stored in). */
  private decodeRows(r0: number, r1: number): tf.Tensor2D {
    const inF = this.inFeatures;
    const buf = new Float32Array((r1 - r0) * inF);
    dequantizeRange(this.weight, r0 * inF, r1 * inF, buf, 0);
    return tf.tensor2d(buf, [r1 - r0, inF]);
  }

  /** x W^T, one tile of output rows at a time: [N, in] x [rows, in]^T -> [N, rows], concatenated.
   * transposeB instead of a JS transpose: a fresh weight tile is packed by the backend either way
   * (measured on WASM/XNNPACK, 4096 x 4096: the JS transpose alone cost more than the packing). */
  private matmulWT(x: tf.Tensor2D): tf.Tensor2D {
    const parts: tf.Tensor2D[] = [];
    for (let r0 = 0; r0 < this.outFeatures; r0 += this.tileRows) {
      const r1 = Math.min(this.outFeatures, r0 + this.tileRows);
      parts.push(tf.tidy(() => tf.matMul(x, this.decodeRows(r0, r1), false, true)));
    }
    if (parts.length === 1) return parts[0];
    const y = tf.concat(parts, 1);
    parts.forEach((p) => p.dispose());
    return y;
  }

  /** dy W = sum over tiles dy[:, r0:r1] W[r0:r1, :]: [N, rows] x [rows, in] -> [N, in]. */
  private matmulW(dy: tf.Tensor2D): tf.Tensor2D {
    let acc: tf.Tensor2D | null = null;
    for (let r0 = 0; r0 < this.outFeatures; r0 += this.tileRows) {
      const r1 = Math.min(this.outFeatures, r0 + this.tileRows);
      const prev: tf.Tensor2D | null = acc;
      acc = tf.tidy((): tf.Tensor2D => {
        const dyTile = tf.slice(dy, [0, r0], [-1, r1 - r0]) as tf.Tensor2D; // [N, rows]
        const part: tf.Tensor2D = tf.matMul(dyTile, this.decodeRows(r0, r1)); // [N, in]
        return prev ? (tf.add(prev, part) as tf.Tensor2D) : part;
      });
      prev?.dispose();
    }
    return acc as tf.Tensor2D;
  }

  /** The full dequantized weight, HF layout [out, in] row-major (for merges and checks). */
  dequantizedWeight(): Float32Array {
    const out = new Float32Array(this.outFeatures * this.inFeatures);
    dequantizeRange(this.weight, 0, out.length, out, 0);
    return out;
  }

  /** Bytes held in memory for the weight: codes + scales + double-quant state (bias excluded). */
  weightMemoryBytes(): number {
    return storageBytes(this.weight).totalBytes;
  }

  /** In-memory bytes per quantized parameter (0.5 codes + scale overhead for 4-bit schemes). */
  bytesPerParameter(): number {
    return this.weightMemoryBytes() / this.weight.length;
  }
}

/** Quantize an HF-layout weight [out, in] (a Float32Array or a tensor) into a QuantizedLinear. */
export function quantizeLinear(
  name: string,
  weight: Float32Array | tf.Tensor2D,
  opts: QuantizeOptions & QuantizedLinearOptions & { shape?: readonly [number, number]; bias?: Float32Array | tf.Tensor1D | null },
): QuantizedLinear {
  const bias = opts.bias instanceof tf.Tensor ? Float32Array.from(opts.bias.dataSync()) : (opts.bias ?? null);
  let values: Float32Array;
  let shape: readonly number[];
  if (weight instanceof tf.Tensor) {
    if (weight.rank !== 2) throw new QuantInputError(`${name}.weight`, `must be rank 2 [out, in], got [${weight.shape.join(', ')}]`);
    values = Float32Array.from(weight.dataSync());
    shape = weight.shape;
  } else {
    if (!opts.shape) throw new QuantInputError('shape', 'is required ([out, in]) when the weight is a Float32Array');
    values = weight;
    shape = opts.shape;
  }
  const q = quantize(values, { scheme: opts.scheme, blockSize: opts.blockSize, doubleQuant: opts.doubleQuant, shape });
  return new QuantizedLinear(name, q, bias, { tileElements: opts.tileElements });
}
