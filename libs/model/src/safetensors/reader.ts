// safetensors reader over a Uint8Array: validates the whole header before returning anything
// (format: 8-byte LE header length N, N bytes of JSON header, then the data buffer).
import { DTYPE_BYTES, isDType, numElements, type DType, type RawTensor } from './dtypes.ts';
import { SafetensorsError } from './errors.ts';

/** Default bound on the header length (the reference implementation uses 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface HeaderEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** Byte range [begin, end) inside the data buffer. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** Bytes before the data buffer: 8 + header length. */
  dataStart: number;
  /** Entries in data-offset order. */
  entries: HeaderEntry[];
  metadata: Record<string, string> | null;
}

export interface ParsedSafetensors {
  /** Tensors in data-offset order; `data` views the input bytes (no copy). */
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string> | null;
}

export interface ReadOptions {
  maxHeaderBytes?: number;
}

/** The header length from the 8-byte prefix (bounded), or an error. Needs at least 8 bytes. */
export function readHeaderLength(prefix: Uint8Array, opts: ReadOptions = {}): number {
  const max = opts.maxHeaderBytes ?? MAX_HEADER_BYTES;
  if (prefix.length < 8) throw new SafetensorsError('truncated', `file is ${prefix.length} bytes, shorter than the 8-byte header length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(max)) throw new SafetensorsError('header_too_large', `header length ${n} exceeds the limit of ${max} bytes`);
  if (n < 2n) throw new SafetensorsError('header_invalid_json', `header length ${n} is too small for a JSON object`);
  return Number(n);
}

function nonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function parseEntry(name: string, raw: unknown): HeaderEntry {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SafetensorsError('entry_invalid', `tensor '${name}': entry must be an object with dtype, shape, data_offsets`);
  }
  const { dtype, shape, data_offsets: off } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string') throw new SafetensorsError('entry_invalid', `tensor '${name}': dtype must be a string, got ${JSON.stringify(dtype)}`);
  if (!isDType(dtype)) {
    throw new SafetensorsError('unknown_dtype', `tensor '${name}': dtype '${dtype}' is not one of ${Object.keys(DTYPE_BYTES).join(', ')}`);
  }
  if (!Array.isArray(shape) || !shape.every(nonNegInt)) {
    throw new SafetensorsError('entry_invalid', `tensor '${name}': shape must be an array of integers >= 0, got ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(off) || off.length !== 2 || !off.every(nonNegInt) || off[0] > off[1]) {
    throw new SafetensorsError('entry_invalid', `tensor '${name}': data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(off)}`);
  }
  const elements = numElements(shape);
  const expected = elements * DTYPE_BYTES[dtype];
  if (!Number.isSafeInteger(expected) || expected !== off[1] - off[0]) {
    throw new SafetensorsError(
      'shape_mismatch',
      `tensor '${name}': shape [${shape.join(', ')}] x ${dtype} needs ${expected} bytes, data_offsets [${off[0]}, ${off[1]}] hold ${off[1] - off[0]}`,
    );
  }
  return { name, dtype, shape: [...shape], dataOffsets: [off[0], off[1]] };
}

/**
 * Parse and validate the header. `headerBytes` are the N JSON bytes; `dataLength` is the size of the
 * data buffer (file size - 8 - N), used to check offsets and coverage.
 */
export function parseHeader(headerBytes: Uint8Array, dataLength: number): SafetensorsHeader {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    throw new SafetensorsError('header_invalid_json', `header is not valid UTF-8 JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new SafetensorsError('header_invalid_json', 'header must be a JSON object');
  let metadata: Record<string, string> | null = null;
  const entries: HeaderEntry[] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!raw || typeof raw !== 'object' || Array.isArray(raw) || !Object.values(raw).every((v) => typeof v === 'string')) {
        throw new SafetensorsError('metadata_invalid', '__metadata__ must be an object of string values');
      }
      metadata = { ...(raw as Record<string, string>) };
      continue;
    }
    entries.push(parseEntry(name, raw));
  }
  entries.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let contiguous = true;
  for (let i = 0; i < entries.length; i++) {
    const [begin] = entries[i].dataOffsets;
    const prevEnd = i === 0 ? 0 : entries[i - 1].dataOffsets[1];
    if (i > 0 && begin < prevEnd) {
      throw new SafetensorsError(
        'overlapping',
        `tensors '${entries[i - 1].name}' [${entries[i - 1].dataOffsets.join(', ')}] and '${entries[i].name}' [${entries[i].dataOffsets.join(', ')}] overlap`,
      );
    }
    if (begin !== prevEnd) contiguous = false;
  }
  const end = entries.length ? entries[entries.length - 1].dataOffsets[1] : 0;
  const outside = entries.find((e) => e.dataOffsets[1] > dataLength);
  if (outside) {
    if (contiguous) {
      throw new SafetensorsError('truncated', `data buffer is ${dataLength} bytes but the header describes ${end} bytes of tensors`);
    }
    throw new SafetensorsError(
      'offset_out_of_range',
      `tensor '${outside.name}': data_offsets [${outside.dataOffsets.join(', ')}] reach past the data buffer of ${dataLength} bytes`,
    );
  }
  if (!contiguous) {
    const i = entries.findIndex((e, k) => e.dataOffsets[0] !== (k === 0 ? 0 : entries[k - 1].dataOffsets[1]));
    throw new SafetensorsError('incomplete_coverage', `gap in the data buffer before tensor '${entries[i].name}' at offset ${entries[i].dataOffsets[0]}`);
  }
  if (end !== dataLength) {
    throw new SafetensorsError('incomplete_coverage', `${dataLength - end} bytes after the last tensor are not covered by the header`);
  }
  return { dataStart: 8 + headerBytes.length, entries, metadata };
}

/** Parse a whole safetensors file. Every check runs before any tensor is returned. */
export function parseSafetensors(bytes: Uint8Array, opts: ReadOptions = {}): ParsedSafetensors {
  const n = readHeaderLength(bytes, opts);
  if (bytes.length < 8 + n) throw new SafetensorsError('truncated', `file is ${bytes.length} bytes but the header alone needs ${8 + n}`);
  const header = parseHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n);
  const tensors = new Map<string, RawTensor>();
  for (const e of header.entries) {
    const data = bytes.subarray(header.dataStart + e.dataOffsets[0], header.dataStart + e.dataOffsets[1]);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata: header.metadata };
}
