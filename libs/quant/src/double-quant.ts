// Double quantization of the block absmax values (QLoRA, Dettmers et al. 2023, section 3), as
// bitsandbytes quantize_4bit(compress_statistics=True): subtract the mean, then 8-bit blockwise
// quantization in blocks of 256 with the signed dynamic map (kQuantizeBlockwise / dQuantize).
import { DYNAMIC_MAP_SIGNED, dynamicEncode } from './codebooks.ts';
import type { DoubleQuantState } from './types.ts';

const f32 = Math.fround;
export const NESTED_BLOCK_SIZE = 256;

/** Compress first-level absmax values. The mean is accumulated in float64 then rounded to float32
 * (torch's float32 reduction order can differ in the last bit; the offset is stored, so decoding
 * never depends on it). */
export function compressAbsmax(absmax: Float32Array): DoubleQuantState {
  let sum = 0;
  for (let i = 0; i < absmax.length; i++) sum += absmax[i];
  const offset = f32(sum / absmax.length);
  const n = absmax.length;
  const nested = Math.ceil(n / NESTED_BLOCK_SIZE);
  const codes = new Uint8Array(n);
  const absmax2 = new Float32Array(nested);
  const centred = new Float32Array(n);
  for (let i = 0; i < n; i++) centred[i] = absmax[i] - offset;
  for (let b = 0; b < nested; b++) {
    const start = b * NESTED_BLOCK_SIZE;
    const end = Math.min(start + NESTED_BLOCK_SIZE, n);
    let m = 0;
    for (let i = start; i < end; i++) m = Math.max(m, Math.abs(centred[i]));
    absmax2[b] = m;
    const inv = f32(1 / m);
    for (let i = start; i < end; i++) codes[i] = dynamicEncode(DYNAMIC_MAP_SIGNED, f32(centred[i] * inv));
  }
  return { blockSize: NESTED_BLOCK_SIZE, offset, codes, absmax: absmax2 };
}

/** The reconstructed absmax of first-level block b: code[q] * absmax2 (float32) + offset (float32). */
export function nestedAbsmax(dq: DoubleQuantState, b: number): number {
  return f32(f32(DYNAMIC_MAP_SIGNED[dq.codes[b]] * dq.absmax[b >> 8]) + dq.offset);
}

/** All reconstructed first-level absmax values (bitsandbytes dequantize_blockwise + offset). */
export function decompressAbsmax(dq: DoubleQuantState): Float32Array {
  const out = new Float32Array(dq.codes.length);
  for (let b = 0; b < out.length; b++) out[b] = nestedAbsmax(dq, b);
  return out;
}
