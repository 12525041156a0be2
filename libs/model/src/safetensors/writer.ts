// safetensors writer: tensors (in the given order, packed without gaps) and optional string metadata
// -> one Uint8Array. The header is padded with spaces to a multiple of 8 bytes, as the reference does.
import { DTYPE_BYTES, isDType, numElements, type RawTensor } from './dtypes.ts';
import { SafetensorsError } from './errors.ts';

function checkTensor(name: string, t: RawTensor): void {
  if (typeof name !== 'string' || name.length === 0 || name === '__metadata__') {
    throw new SafetensorsError('invalid_tensor', `tensor name must be a non-empty string other than __metadata__, got ${JSON.stringify(name)}`);
  }
  if (!isDType(t.dtype)) throw new SafetensorsError('unknown_dtype', `tensor '${name}': dtype '${String(t.dtype)}' is not one of ${Object.keys(DTYPE_BYTES).join(', ')}`);
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError('invalid_tensor', `tensor '${name}': shape must be an array of integers >= 0, got ${JSON.stringify(t.shape)}`);
  }
  if (!(t.data instanceof Uint8Array)) throw new SafetensorsError('invalid_tensor', `tensor '${name}': data must be a Uint8Array`);
  const expected = numElements(t.shape) * DTYPE_BYTES[t.dtype];
  if (t.data.length !== expected) {
    throw new SafetensorsError('shape_mismatch', `tensor '${name}': shape [${t.shape.join(', ')}] x ${t.dtype} needs ${expected} bytes, data has ${t.data.length}`);
  }
}

/**
 * The file as parts: [8-byte length + padded header, tensor data...] (tensor parts view the input bytes,
 * so a large checkpoint is never copied into one buffer). Validates everything first.
 */
export function serializeSafetensorsParts(
  tensors: Map<string, RawTensor> | Iterable<[string, RawTensor]>,
  metadata?: Record<string, string> | null,
): Uint8Array[] {
  const list = [...tensors];
  const header: Record<string, unknown> = {};
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError('metadata_invalid', `__metadata__.${k}: must be a string, got ${typeof v}`);
    }
    header.__metadata__ = { ...metadata };
  }
  let offset = 0;
  const seen = new Set<string>();
  for (const [name, t] of list) {
    checkTensor(name, t);
    if (seen.has(name)) throw new SafetensorsError('invalid_tensor', `tensor '${name}': duplicate name`);
    seen.add(name);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  return [head, ...list.map(([, t]) => t.data)];
}

/** Serialize tensors to one safetensors file in memory (see serializeSafetensorsParts). */
export function serializeSafetensors(
  tensors: Map<string, RawTensor> | Iterable<[string, RawTensor]>,
  metadata?: Record<string, string> | null,
): Uint8Array {
  const parts = serializeSafetensorsParts(tensors, metadata);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
