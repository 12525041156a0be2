// Input checks for the quantization API: every error names the field and the limit it broke.
import { CODE_BITS, QUANT_SCHEMES, type QuantScheme, type QuantizeOptions, type QuantizedTensor } from './types.ts';

/** Bad input to a quantization function; `field` names the offending field. Retrying cannot help. */
export class QuantInputError extends Error {
  override readonly name = 'QuantInputError';
  readonly code = 'INVALID_ARGUMENT';
  readonly retryable = false;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export const DEFAULT_BLOCK_SIZE = 64;
/** Block-size limits: bitsandbytes' 4-bit kernels accept 32..4096, so nf4/fp4 stay in that range. */
const BLOCK_LIMITS: Record<QuantScheme, [number, number]> = {
  int8: [2, 4096],
  int4: [2, 4096],
  int2: [2, 4096],
  nf4: [32, 4096],
  fp4: [32, 4096],
};

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `array(${v.length})`;
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  if (typeof v === 'string') return JSON.stringify(v);
  return typeof v === 'object' ? 'object' : String(v);
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export interface ResolvedOptions {
  scheme: QuantScheme;
  blockSize: number;
  doubleQuant: boolean;
  shape: number[];
}

export function checkValues(values: unknown, field = 'values'): asserts values is Float32Array {
  if (!(values instanceof Float32Array)) throw new QuantInputError(field, `must be a Float32Array, got ${describe(values)}`);
  if (values.length === 0) throw new QuantInputError(field, 'must hold at least 1 value, got 0');
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new QuantInputError(`${field}[${i}]`, `must be finite, got ${values[i]}`);
  }
}

export function resolveOptions(opts: QuantizeOptions | undefined, length: number): ResolvedOptions {
  if (opts === null || typeof opts !== 'object') throw new QuantInputError('opts', `must be an object, got ${describe(opts)}`);
  const scheme = opts.scheme;
  if (!QUANT_SCHEMES.includes(scheme)) {
    throw new QuantInputError('scheme', `must be one of ${QUANT_SCHEMES.join(', ')}, got ${describe(scheme)}`);
  }
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  const [lo, hi] = BLOCK_LIMITS[scheme];
  if (!isPowerOfTwo(blockSize) || blockSize < lo || blockSize > hi) {
    throw new QuantInputError('blockSize', `must be a power of two in [${lo}, ${hi}] for ${scheme}, got ${describe(blockSize)}`);
  }
  const doubleQuant = opts.doubleQuant ?? false;
  if (typeof doubleQuant !== 'boolean') throw new QuantInputError('doubleQuant', `must be a boolean, got ${describe(doubleQuant)}`);
  if (doubleQuant && scheme !== 'nf4' && scheme !== 'fp4') {
    throw new QuantInputError('doubleQuant', `is only defined for nf4 and fp4 (bitsandbytes compress_statistics), got scheme ${scheme}`);
  }
  const shape = opts.shape === undefined ? [length] : [...opts.shape];
  if (!shape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new QuantInputError('shape', `must be integers >= 1, got [${shape.join(', ')}]`);
  }
  const product = shape.reduce((a, b) => a * b, 1);
  if (product !== length) throw new QuantInputError('shape', `product ${product} must equal values.length ${length}`);
  return { scheme, blockSize, doubleQuant, shape };
}

/** Bytes of packed codes for `length` values of a scheme. */
export function codeBytes(scheme: QuantScheme, length: number): number {
  return Math.ceil((length * CODE_BITS[scheme]) / 8);
}

/** Structural check of a QuantizedTensor (it may come from a file): lengths must agree. */
export function checkQuantized(q: unknown, field = 'q'): asserts q is QuantizedTensor {
  if (q === null || typeof q !== 'object') throw new QuantInputError(field, `must be a QuantizedTensor object, got ${describe(q)}`);
  const t = q as QuantizedTensor;
  if (!QUANT_SCHEMES.includes(t.scheme)) throw new QuantInputError(`${field}.scheme`, `must be one of ${QUANT_SCHEMES.join(', ')}, got ${describe(t.scheme)}`);
  if (!Number.isInteger(t.length) || t.length < 1) throw new QuantInputError(`${field}.length`, `must be an integer >= 1, got ${describe(t.length)}`);
  const [lo, hi] = BLOCK_LIMITS[t.scheme];
  if (!isPowerOfTwo(t.blockSize) || t.blockSize < lo || t.blockSize > hi) {
    throw new QuantInputError(`${field}.blockSize`, `must be a power of two in [${lo}, ${hi}] for ${t.scheme}, got ${describe(t.blockSize)}`);
  }
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 1) || t.shape.reduce((a, b) => a * b, 1) !== t.length) {
    throw new QuantInputError(`${field}.shape`, `must be integers >= 1 whose product is length ${t.length}, got ${describe(t.shape)}`);
  }
  if (!(t.codes instanceof Uint8Array)) throw new QuantInputError(`${field}.codes`, `must be a Uint8Array, got ${describe(t.codes)}`);
  const want = codeBytes(t.scheme, t.length);
  if (t.codes.length !== want) throw new QuantInputError(`${field}.codes`, `expected ${want} bytes for ${t.length} ${t.scheme} values, got ${t.codes.length}`);
  const blocks = Math.ceil(t.length / t.blockSize);
  if (t.doubleQuant) {
    const dq = t.doubleQuant;
    if (!(dq.codes instanceof Uint8Array) || dq.codes.length !== blocks) {
      throw new QuantInputError(`${field}.doubleQuant.codes`, `expected a Uint8Array of ${blocks} codes, got ${describe(dq.codes)}`);
    }
    const nested = Math.ceil(blocks / 256);
    if (!(dq.absmax instanceof Float32Array) || dq.absmax.length !== nested) {
      throw new QuantInputError(`${field}.doubleQuant.absmax`, `expected a Float32Array of ${nested} values, got ${describe(dq.absmax)}`);
    }
    if (!Number.isFinite(dq.offset)) throw new QuantInputError(`${field}.doubleQuant.offset`, `must be finite, got ${dq.offset}`);
  } else if (!(t.absmax instanceof Float32Array) || t.absmax.length !== blocks) {
    throw new QuantInputError(`${field}.absmax`, `expected a Float32Array of ${blocks} block scales, got ${describe(t.absmax)}`);
  }
}
