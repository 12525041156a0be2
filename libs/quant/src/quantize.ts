// quantize / dequantize: the public codec entry points over every scheme (block-codec.ts) with
// optional double quantization of the scales (double-quant.ts).
import { decodeRange, encodeBlocks } from './block-codec.ts';
import { compressAbsmax, nestedAbsmax } from './double-quant.ts';
import type { QuantizeOptions, QuantizedTensor } from './types.ts';
import { QuantInputError, checkQuantized, checkValues, resolveOptions } from './validate.ts';

/** Quantize a flat float32 array. Throws QuantInputError naming the field on bad input. */
export function quantize(values: Float32Array, opts: QuantizeOptions): QuantizedTensor {
  checkValues(values);
  const { scheme, blockSize, doubleQuant, shape } = resolveOptions(opts, values.length);
  const { codes, absmax } = encodeBlocks(values, scheme, blockSize);
  return {
    scheme,
    length: values.length,
    shape,
    blockSize,
    codes,
    absmax: doubleQuant ? null : absmax,
    doubleQuant: doubleQuant ? compressAbsmax(absmax) : null,
  };
}

/** The absmax lookup of a quantized tensor (plain or double-quantized). */
export function absmaxLookup(q: QuantizedTensor): (b: number) => number {
  const dq = q.doubleQuant;
  if (dq) return (b) => nestedAbsmax(dq, b);
  const absmax = q.absmax as Float32Array;
  return (b) => absmax[b];
}

/** Decode elements [start, end) of q into out (from outOffset). No structural check: callers that
 * hold a tensor from outside call dequantize() or checkQuantized first. */
export function dequantizeRange(q: QuantizedTensor, start: number, end: number, out: Float32Array, outOffset = 0): void {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= q.length)) {
    throw new QuantInputError('range', `must satisfy 0 <= start <= end <= ${q.length}, got [${start}, ${end})`);
  }
  if (out.length - outOffset < end - start) {
    throw new QuantInputError('out', `needs ${end - start} values from offset ${outOffset}, has ${out.length - outOffset}`);
  }
  decodeRange(q.codes, q.scheme, q.blockSize, absmaxLookup(q), start, end, out, outOffset);
}

/** Decode the whole tensor to float32. */
export function dequantize(q: QuantizedTensor): Float32Array {
  checkQuantized(q);
  const out = new Float32Array(q.length);
  decodeRange(q.codes, q.scheme, q.blockSize, absmaxLookup(q), 0, q.length, out, 0);
  return out;
}
