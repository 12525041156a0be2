// safetensors dtypes: byte sizes and exact conversions to/from float32 (IEEE 754 binary16 and
// bfloat16 with round-to-nearest-even, as torch does). Data is little-endian, like the format.

export const DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
} as const;

export type DType = keyof typeof DTYPE_BYTES;

export function isDType(v: unknown): v is DType {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, v);
}

/** A tensor as stored: dtype, shape and its raw little-endian bytes. */
export interface RawTensor {
  dtype: DType;
  shape: number[];
  data: Uint8Array;
}

export function numElements(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('safetensors: this platform is big-endian; only little-endian hosts are supported');
}

/** A copy of the bytes in a fresh, aligned ArrayBuffer. */
function aligned(data: Uint8Array): ArrayBuffer {
  // Uint8Array.prototype.slice copies; a Node Buffer's own slice() is a view into a shared pool.
  return Uint8Array.prototype.slice.call(data).buffer as ArrayBuffer;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** binary16 bits -> number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** float32 value -> binary16 bits, round to nearest even; overflow gives +-Inf, NaN stays NaN. */
export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && r & 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && r & 1)) r++;
  return sign | r;
}

/** float32 value -> bfloat16 bits, round to nearest even; NaN stays a quiet NaN. */
export function floatToBf16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Decode a stored tensor to float32 (F64/I64 values beyond float32 range or precision are rounded). */
export function toFloat32(t: RawTensor): Float32Array {
  const buf = aligned(t.data);
  switch (t.dtype) {
    case 'F32':
      return new Float32Array(buf);
    case 'F64':
      return Float32Array.from(new Float64Array(buf));
    case 'F16': {
      const h = new Uint16Array(buf);
      const out = new Float32Array(h.length);
      for (let i = 0; i < h.length; i++) out[i] = halfToFloat(h[i]);
      return out;
    }
    case 'BF16': {
      const h = new Uint16Array(buf);
      const bits = new Uint32Array(h.length);
      for (let i = 0; i < h.length; i++) bits[i] = h[i] << 16;
      return new Float32Array(bits.buffer);
    }
    case 'I64':
      return Float32Array.from(new BigInt64Array(buf), (v) => Number(v));
    case 'I32':
      return Float32Array.from(new Int32Array(buf));
    case 'I16':
      return Float32Array.from(new Int16Array(buf));
    case 'I8':
      return Float32Array.from(new Int8Array(buf));
    case 'U8':
    case 'BOOL':
      return Float32Array.from(new Uint8Array(buf));
  }
}

/** Encode float32 values as `dtype` (F32, F16, BF16, F64; integers are rounded and range-checked). */
export function fromFloat32(values: Float32Array | readonly number[], dtype: DType, shape: number[]): RawTensor {
  const n = values.length;
  if (numElements(shape) !== n) {
    throw new Error(`shape: [${shape.join(', ')}] holds ${numElements(shape)} elements, got ${n} values`);
  }
  let out: ArrayBufferView;
  switch (dtype) {
    case 'F32':
      out = Float32Array.from(values);
      break;
    case 'F64':
      out = Float64Array.from(values);
      break;
    case 'F16':
      out = Uint16Array.from(values, floatToHalf);
      break;
    case 'BF16':
      out = Uint16Array.from(values, floatToBf16);
      break;
    default: {
      const ranges = { I64: [-(2 ** 53), 2 ** 53], I32: [-(2 ** 31), 2 ** 31 - 1], I16: [-32768, 32767], I8: [-128, 127], U8: [0, 255], BOOL: [0, 1] } as const;
      const [lo, hi] = ranges[dtype];
      const ints = Array.from(values, (v, i) => {
        const r = Math.round(v);
        if (!(r >= lo && r <= hi)) throw new Error(`values[${i}]: ${v} does not fit ${dtype} [${lo}, ${hi}]`);
        return r;
      });
      if (dtype === 'I64') out = BigInt64Array.from(ints, (v) => BigInt(v));
      else if (dtype === 'I32') out = Int32Array.from(ints);
      else if (dtype === 'I16') out = Int16Array.from(ints);
      else if (dtype === 'I8') out = Int8Array.from(ints);
      else out = Uint8Array.from(ints);
    }
  }
  return { dtype, shape: [...shape], data: new Uint8Array(out.buffer, out.byteOffset, out.byteLength) };
}
