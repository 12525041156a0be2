// The quantized-tensor record shared by every codec: packed codes plus the per-block scales,
// laid out as bitsandbytes stores them (codes flat, absmax per block, nested state for double quant).

/** Supported schemes. nf4/fp4 follow bitsandbytes; int8/int4/int2 are symmetric absmax per block. */
export type QuantScheme = 'int8' | 'int4' | 'int2' | 'nf4' | 'fp4';

export const QUANT_SCHEMES: readonly QuantScheme[] = ['int8', 'int4', 'int2', 'nf4', 'fp4'];

/** Bits of one stored code, per scheme. */
export const CODE_BITS: Readonly<Record<QuantScheme, 8 | 4 | 2>> = {
  int8: 8,
  int4: 4,
  int2: 2,
  nf4: 4,
  fp4: 4,
};

export interface QuantizeOptions {
  /** Which code to use. */
  scheme: QuantScheme;
  /** Values per absmax block (power of two; 2..4096, nf4/fp4 32..4096 as bitsandbytes). Default 64. */
  blockSize?: number;
  /** Quantize the absmax values to 8 bits in blocks of 256 (bitsandbytes compress_statistics); nf4/fp4 only. */
  doubleQuant?: boolean;
  /** Optional logical shape, recorded as metadata; its product must equal values.length. */
  shape?: readonly number[];
}

/** Double-quantization state: absmax[b] ~= DYNAMIC_MAP_SIGNED[codes[b]] * absmax[b >> 8] + offset. */
export interface DoubleQuantState {
  /** Absmax values per nested block (always 256, as in bitsandbytes). */
  blockSize: 256;
  /** Mean of the first-level absmax values, subtracted before quantizing them (float32). */
  offset: number;
  /** One 8-bit code of the signed dynamic map per first-level block. */
  codes: Uint8Array;
  /** float32 absmax of (absmax - offset) per nested block of 256. */
  absmax: Float32Array;
}

/** A plain object: safe to structured-clone or serialise field by field. */
export interface QuantizedTensor {
  scheme: QuantScheme;
  /** Number of quantized values. */
  length: number;
  /** Logical shape (metadata only); defaults to [length]. */
  shape: number[];
  blockSize: number;
  /** Packed codes. 4-bit: two per byte, element 2i in the high nibble (bitsandbytes order);
   * 2-bit: four per byte, element 4i in the two highest bits; 8-bit: one int8 per byte. */
  codes: Uint8Array;
  /** float32 absmax per block; null when the absmax values are double-quantized. */
  absmax: Float32Array | null;
  doubleQuant: DoubleQuantState | null;
}
