// Block-wise encode / decode of one code stream: absmax per block, then a 2-, 4- or 8-bit code per
// value, packed MSB-first (bitsandbytes: element 2i in the high nibble). Decoding is LUT[code] * step.
import { codeLut, fp4Encode, nf4Encode } from './codebooks.ts';
import { CODE_BITS, type QuantScheme } from './types.ts';

const f32 = Math.fround;

/** Largest integer level of the symmetric integer schemes: q in [-qmax, qmax]. int2 is ternary
 * {-1, 0, 1}: its fourth code (-2) stays unused so the grid is symmetric like int4 and int8. */
export const INT_QMAX = { int8: 127, int4: 7, int2: 1 } as const;

function signedLut(bits: number): Float32Array {
  const n = 1 << bits;
  return Float32Array.from({ length: n }, (_, c) => (c < n / 2 ? c : c - n));
}
const INT_LUTS = { int8: signedLut(8), int4: signedLut(4), int2: signedLut(2) };

/** Table of decoded values per code, before multiplying by the block step. */
export function decodeLut(scheme: QuantScheme): Float32Array {
  return scheme === 'nf4' || scheme === 'fp4' ? codeLut(scheme) : INT_LUTS[scheme];
}

/** Multiplier applied to LUT[code] in a block whose absmax is `absmax`. */
export function blockStep(scheme: QuantScheme, absmax: number): number {
  return scheme === 'nf4' || scheme === 'fp4' ? absmax : f32(absmax / INT_QMAX[scheme]);
}

/** Round half to even (banker's rounding). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Read code i of a packed stream. */
export function readCode(codes: Uint8Array, bits: number, i: number): number {
  if (bits === 8) return codes[i];
  if (bits === 4) return (codes[i >> 1] >> (i & 1 ? 0 : 4)) & 0xf;
  return (codes[i >> 2] >> (6 - 2 * (i & 3))) & 0x3;
}

function writeCode(codes: Uint8Array, bits: number, i: number, code: number): void {
  if (bits === 8) codes[i] = code;
  else if (bits === 4) codes[i >> 1] |= i & 1 ? code : code << 4;
  else codes[i >> 2] |= code << (6 - 2 * (i & 3));
}

// Pack codes of values[start, end) two per byte, element 2i in the high nibble. One function per
// code so each call site stays monomorphic (a shared callback halved throughput once both ran).
function encodePairsNf4(values: Float32Array, codes: Uint8Array, start: number, end: number, inv: number): void {
  let i = start;
  for (; i + 1 < end; i += 2) codes[i >> 1] = (nf4Encode(f32(values[i] * inv)) << 4) | nf4Encode(f32(values[i + 1] * inv));
  if (i < end) codes[i >> 1] = (nf4Encode(f32(values[i] * inv)) << 4) | nf4Encode(f32(0 * inv));
}

function encodePairsFp4(values: Float32Array, codes: Uint8Array, start: number, end: number, inv: number): void {
  let i = start;
  for (; i + 1 < end; i += 2) codes[i >> 1] = (fp4Encode(f32(values[i] * inv)) << 4) | fp4Encode(f32(values[i + 1] * inv));
  if (i < end) codes[i >> 1] = (fp4Encode(f32(values[i] * inv)) << 4) | fp4Encode(f32(0 * inv));
}

/** Quantize values block by block: returns the packed codes and the float32 absmax per block. */
export function encodeBlocks(values: Float32Array, scheme: QuantScheme, blockSize: number): { codes: Uint8Array; absmax: Float32Array } {
  const bits = CODE_BITS[scheme];
  const n = values.length;
  const blocks = Math.ceil(n / blockSize);
  const codes = new Uint8Array(Math.ceil((n * bits) / 8));
  const absmax = new Float32Array(blocks);
  for (let b = 0; b < blocks; b++) {
    const start = b * blockSize;
    const end = Math.min(start + blockSize, n);
    let m = 0;
    for (let i = start; i < end; i++) m = Math.max(m, Math.abs(values[i]));
    absmax[b] = m;
    if (scheme === 'nf4' || scheme === 'fp4') {
      // bitsandbytes multiplies by the float32 reciprocal; absmax 0 gives 0 * Infinity = NaN -> code 0.
      // Blocks hold an even count (>= 32) so pairs never straddle blocks; an odd tail is padded with
      // a zero value encoded like any other (bitsandbytes loads 0 there).
      const inv = f32(1 / m);
      if (scheme === 'nf4') encodePairsNf4(values, codes, start, end, inv);
      else encodePairsFp4(values, codes, start, end, inv);
    } else {
      const qmax = INT_QMAX[scheme];
      const mask = (1 << bits) - 1;
      for (let i = start; i < end; i++) {
        const q = m === 0 ? 0 : roundHalfEven((values[i] * qmax) / m);
        writeCode(codes, bits, i, Math.max(-qmax, Math.min(qmax, q)) & mask);
      }
    }
  }
  return { codes, absmax };
}

/** Decode values [start, end) into out[outOffset...], given a per-block absmax lookup. */
export function decodeRange(
  codes: Uint8Array,
  scheme: QuantScheme,
  blockSize: number,
  blockAbsmax: (b: number) => number,
  start: number,
  end: number,
  out: Float32Array,
  outOffset = 0,
): void {
  const bits = CODE_BITS[scheme];
  const lut = decodeLut(scheme);
  let i = start;
  while (i < end) {
    const b = Math.floor(i / blockSize);
    const stop = Math.min(end, (b + 1) * blockSize);
    const step = blockStep(scheme, blockAbsmax(b));
    let o = outOffset + (i - start);
    if (bits === 4) {
      for (; i < stop; i++, o++) out[o] = lut[(codes[i >> 1] >> (i & 1 ? 0 : 4)) & 0xf] * step;
    } else if (bits === 8) {
      for (; i < stop; i++, o++) out[o] = lut[codes[i]] * step;
    } else {
      for (; i < stop; i++, o++) out[o] = lut[(codes[i >> 2] >> (6 - 2 * (i & 3))) & 0x3] * step;
    }
  }
}
