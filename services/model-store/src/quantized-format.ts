// Safetensors layout of a quantized model (pure, no I/O). A quantized weight W keeps its HF name and
// holds the packed codes (U8, bitsandbytes order), beside `W.absmax` (F32 per block; U8 codes of the
// signed dynamic map when double-quantized, with `W.nested_absmax` F32 per 256 blocks). The file's
// `__metadata__["tuneloop.quantization"]` is JSON: { version, scheme, blockSize, doubleQuant,
// tensors: { W: { shape, dtype, nestedOffset? } } }; every other tensor is stored as it was.
import { numElements, toFloat32, type DType, type RawTensor } from '@tuneloop/model';
import { checkQuantized, quantize, type QuantScheme, type QuantizedTensor } from '@tuneloop/quant';

export const QUANT_METADATA_KEY = 'tuneloop.quantization';
export const FORMAT_VERSION = 1;
/** Tensors that stay in full precision unless told otherwise: embeddings, norms, the LM head. */
export const DEFAULT_KEEP = ['embed_tokens', 'norm', 'lm_head'];

export interface QuantizedTensorMeta {
  shape: number[];
  /** dtype of the original tensor (restored on dequantize) */
  dtype: DType;
  /** double quantization offset (mean of the first-level absmax values) */
  nestedOffset?: number;
}

export interface QuantMetadata {
  version: number;
  scheme: QuantScheme;
  blockSize: number;
  doubleQuant: boolean;
  tensors: Record<string, QuantizedTensorMeta>;
}

export interface EncodeOptions {
  scheme: QuantScheme;
  blockSize: number;
  doubleQuant: boolean;
  /** tensor names matching any of these stay in full precision; only 2-D float weights quantize */
  keep: RegExp[];
}

export interface EncodedModel {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
  /** the quantized tensors with their original values (for error accounting) */
  quantized: Map<string, { q: QuantizedTensor; original: Float32Array }>;
}

const FLOATS = new Set<DType>(['F32', 'F16', 'BF16', 'F64']);

function raw(dtype: DType, shape: number[], bytes: ArrayBufferView): RawTensor {
  return { dtype, shape, data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

/** Whether `name` (of a tensor with `shape` and `dtype`) is quantized under `keep`. */
export function shouldQuantize(name: string, t: { shape: number[]; dtype: DType }, keep: RegExp[]): boolean {
  return t.shape.length === 2 && FLOATS.has(t.dtype) && !keep.some((r) => r.test(name));
}

/** Quantizes the selected tensors of `weights` into the stored layout. */
export function encodeQuantized(weights: Map<string, RawTensor>, opts: EncodeOptions): EncodedModel {
  const tensors = new Map<string, RawTensor>();
  const quantized = new Map<string, { q: QuantizedTensor; original: Float32Array }>();
  const meta: QuantMetadata = { version: FORMAT_VERSION, scheme: opts.scheme, blockSize: opts.blockSize, doubleQuant: opts.doubleQuant, tensors: {} };
  for (const [name, t] of weights) {
    if (!shouldQuantize(name, t, opts.keep)) {
      tensors.set(name, t);
      continue;
    }
    for (const suffix of ['.absmax', '.nested_absmax']) {
      if (weights.has(name + suffix)) throw new Error(`${name}: the model already has a tensor named ${name + suffix}`);
    }
    const original = toFloat32(t);
    const q = quantize(original, { scheme: opts.scheme, blockSize: opts.blockSize, doubleQuant: opts.doubleQuant, shape: t.shape });
    quantized.set(name, { q, original });
    tensors.set(name, raw('U8', [q.codes.length], q.codes));
    const m: QuantizedTensorMeta = { shape: [...t.shape], dtype: t.dtype };
    if (q.doubleQuant) {
      tensors.set(`${name}.absmax`, raw('U8', [q.doubleQuant.codes.length], q.doubleQuant.codes));
      tensors.set(`${name}.nested_absmax`, raw('F32', [q.doubleQuant.absmax.length], q.doubleQuant.absmax));
      m.nestedOffset = q.doubleQuant.offset;
    } else {
      const a = q.absmax as Float32Array;
      tensors.set(`${name}.absmax`, raw('F32', [a.length], a));
    }
    meta.tensors[name] = m;
  }
  return { tensors, metadata: { format: 'pt', [QUANT_METADATA_KEY]: JSON.stringify(meta) }, quantized };
}

/** The quantization metadata of a safetensors `__metadata__`, or null for a plain file. */
export function readQuantMetadata(metadata: Record<string, string> | null): QuantMetadata | null {
  const text = metadata?.[QUANT_METADATA_KEY];
  if (text === undefined) return null;
  let m: QuantMetadata;
  try {
    m = JSON.parse(text) as QuantMetadata;
  } catch (err) {
    throw new Error(`__metadata__.${QUANT_METADATA_KEY}: not JSON (${(err as Error).message})`, { cause: err });
  }
  if (m?.version !== FORMAT_VERSION || typeof m.scheme !== 'string' || !m.tensors || typeof m.tensors !== 'object') {
    throw new Error(`__metadata__.${QUANT_METADATA_KEY}: must be {version: ${FORMAT_VERSION}, scheme, blockSize, doubleQuant, tensors}`);
  }
  return m;
}

function f32(t: RawTensor | undefined, field: string): Float32Array {
  if (!t || t.dtype !== 'F32') throw new Error(`${field}: missing or not F32`);
  return new Float32Array(t.data.slice().buffer);
}

function u8(t: RawTensor | undefined, field: string): Uint8Array {
  if (!t || t.dtype !== 'U8') throw new Error(`${field}: missing or not U8`);
  return t.data.slice();
}

export interface DecodedModel {
  /** tensors stored in full precision, as stored */
  plain: Map<string, RawTensor>;
  /** quantized weights by HF name, with their original dtype */
  quantized: Map<string, { q: QuantizedTensor; dtype: DType }>;
  meta: QuantMetadata | null;
}

/** Splits the tensors of a (possibly) quantized file back into plain tensors and QuantizedTensors. */
export function decodeQuantized(tensors: Map<string, RawTensor>, metadata: Record<string, string> | null): DecodedModel {
  const meta = readQuantMetadata(metadata);
  const plain = new Map(tensors);
  const quantized = new Map<string, { q: QuantizedTensor; dtype: DType }>();
  if (!meta) return { plain, quantized, meta };
  for (const [name, m] of Object.entries(meta.tensors)) {
    const codes = u8(tensors.get(name), name);
    const length = numElements(m.shape);
    const q: QuantizedTensor = meta.doubleQuant
      ? {
          scheme: meta.scheme, length, shape: [...m.shape], blockSize: meta.blockSize, codes, absmax: null,
          doubleQuant: { blockSize: 256, offset: m.nestedOffset ?? 0, codes: u8(tensors.get(`${name}.absmax`), `${name}.absmax`), absmax: f32(tensors.get(`${name}.nested_absmax`), `${name}.nested_absmax`) },
        }
      : { scheme: meta.scheme, length, shape: [...m.shape], blockSize: meta.blockSize, codes, absmax: f32(tensors.get(`${name}.absmax`), `${name}.absmax`), doubleQuant: null };
    checkQuantized(q, name);
    quantized.set(name, { q, dtype: m.dtype });
    for (const n of [name, `${name}.absmax`, `${name}.nested_absmax`]) plain.delete(n);
  }
  return { plain, quantized, meta };
}

/** Parameters of a stored file: quantized tensors count their logical size, aux tensors none. */
export function parameterCountOf(entries: { name: string; shape: number[] }[], meta: QuantMetadata | null): number {
  let n = 0;
  for (const e of entries) {
    const base = e.name.replace(/\.(nested_absmax|absmax)$/, '');
    if (meta?.tensors[base]) {
      if (base === e.name) n += numElements(meta.tensors[base].shape);
      continue;
    }
    n += numElements(e.shape);
  }
  return n;
}
