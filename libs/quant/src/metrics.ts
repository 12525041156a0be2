// Storage and accuracy accounting for a QuantizedTensor: bytes actually stored, bits per
// parameter, and the reconstruction error (MSE, max |error|, SNR in dB).
import { dequantize } from './quantize.ts';
import type { QuantizedTensor } from './types.ts';
import { QuantInputError, checkQuantized, checkValues } from './validate.ts';

export interface StorageBreakdown {
  codeBytes: number;
  /** float32 absmax per block, or the 8-bit nested codes when double-quantized. */
  scaleBytes: number;
  /** Double quantization: float32 absmax per 256 blocks + the float32 offset. */
  doubleQuantBytes: number;
  totalBytes: number;
}

/** Bytes stored for q. Shared constants (the 16-entry 4-bit tables, the 256-entry dynamic map) are
 * part of the format, not of the tensor, and are not counted. */
export function storageBytes(q: QuantizedTensor): StorageBreakdown {
  checkQuantized(q);
  const codeBytes = q.codes.byteLength;
  const dq = q.doubleQuant;
  const scaleBytes = dq ? dq.codes.byteLength : (q.absmax as Float32Array).byteLength;
  const doubleQuantBytes = dq ? dq.absmax.byteLength + 4 : 0;
  return { codeBytes, scaleBytes, doubleQuantBytes, totalBytes: codeBytes + scaleBytes + doubleQuantBytes };
}

/** Storage actually used per parameter, in bits: codes + scales + double-quant constants. */
export function bitsPerParameter(q: QuantizedTensor): number {
  return (storageBytes(q).totalBytes * 8) / q.length;
}

export interface QuantizationError {
  mse: number;
  maxAbsError: number;
  /** 10 log10(sum x^2 / sum (x - x_hat)^2); Infinity when reconstruction is exact. */
  snrDb: number;
}

/** Reconstruction error of q against the original values. */
export function quantizationError(original: Float32Array, q: QuantizedTensor): QuantizationError {
  checkValues(original, 'original');
  checkQuantized(q);
  if (original.length !== q.length) {
    throw new QuantInputError('original', `length ${original.length} must equal q.length ${q.length}`);
  }
  const rec = dequantize(q);
  let se = 0;
  let signal = 0;
  let maxAbs = 0;
  for (let i = 0; i < original.length; i++) {
    const e = original[i] - rec[i];
    se += e * e;
    signal += original[i] * original[i];
    maxAbs = Math.max(maxAbs, Math.abs(e));
  }
  const snrDb = se === 0 ? Infinity : 10 * Math.log10(signal / se);
  return { mse: se / original.length, maxAbsError: maxAbs, snrDb };
}
