// QuantizedTensor <-> named raw tensors for safetensors files. nf4/fp4 use the bitsandbytes / HF
// transformers Linear4bit state-dict layout (QuantState.as_dict(packed=True)); int schemes mirror it.
import type { RawTensor } from '@tuneloop/model';
import { DYNAMIC_MAP_SIGNED, codeLut } from './codebooks.ts';
import type { QuantScheme, QuantizedTensor } from './types.ts';
import { QuantInputError, checkQuantized } from './validate.ts';

/** Key suffix of the JSON side-car for our integer schemes (bitsandbytes uses bitsandbytes__nf4 / __fp4). */
const TUNELOOP_STATE = 'quant_state.tuneloop';

function f32Bytes(a: Float32Array | readonly number[]): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setFloat32(i * 4, a[i], true);
  return out;
}

function readF32(t: RawTensor, field: string): Float32Array {
  if (t.dtype !== 'F32') throw new QuantInputError(field, `must have dtype F32, got ${t.dtype}`);
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = new Float32Array(t.data.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

function readU8(t: RawTensor, field: string): Uint8Array {
  if (t.dtype !== 'U8') throw new QuantInputError(field, `must have dtype U8, got ${t.dtype}`);
  return t.data.slice();
}

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/**
 * Tensors for one quantized weight, keyed `${prefix}weight`, `${prefix}weight.absmax`, ... with
 * `prefix` the module path plus a dot (e.g. 'model.layers.0.self_attn.q_proj.'). For nf4/fp4 the
 * keys, dtypes and JSON fields are bitsandbytes' so transformers can load the file; the 16-value
 * quant_map and the 256-value nested_quant_map are written as bitsandbytes does.
 */
export function quantizedToTensors(prefix: string, q: QuantizedTensor): Map<string, RawTensor> {
  checkQuantized(q);
  const k = `${prefix}weight`;
  const out = new Map<string, RawTensor>();
  out.set(k, { dtype: 'U8', shape: [q.codes.length, 1], data: q.codes.slice() });
  const dq = q.doubleQuant;
  if (dq) out.set(`${k}.absmax`, { dtype: 'U8', shape: [dq.codes.length], data: dq.codes.slice() });
  else out.set(`${k}.absmax`, { dtype: 'F32', shape: [q.absmax!.length], data: f32Bytes(q.absmax!) });
  if (q.scheme === 'nf4' || q.scheme === 'fp4') {
    out.set(`${k}.quant_map`, { dtype: 'F32', shape: [16], data: f32Bytes(codeLut(q.scheme)) });
    const state: Record<string, unknown> = { quant_type: q.scheme, blocksize: q.blockSize, dtype: 'float32', shape: q.shape };
    if (dq) {
      out.set(`${k}.nested_absmax`, { dtype: 'F32', shape: [dq.absmax.length], data: f32Bytes(dq.absmax) });
      out.set(`${k}.nested_quant_map`, { dtype: 'F32', shape: [256], data: f32Bytes(DYNAMIC_MAP_SIGNED) });
      Object.assign(state, { nested_blocksize: dq.blockSize, nested_dtype: 'float32', nested_offset: dq.offset });
    }
    const bytes = json(state);
    out.set(`${k}.quant_state.bitsandbytes__${q.scheme}`, { dtype: 'U8', shape: [bytes.length], data: bytes });
  } else {
    const bytes = json({ scheme: q.scheme, blocksize: q.blockSize, shape: q.shape, length: q.length });
    out.set(`${k}.${TUNELOOP_STATE}`, { dtype: 'U8', shape: [bytes.length], data: bytes });
  }
  return out;
}

/** Whether `tensors` hold a quantized weight under `prefix` (either layout). */
export function hasQuantizedWeight(prefix: string, tensors: Map<string, RawTensor>): boolean {
  const k = `${prefix}weight.quant_state.`;
  return [...tensors.keys()].some((n) => n.startsWith(k));
}

/** Read a quantized weight written by quantizedToTensors or by bitsandbytes (nf4/fp4, nested or not). */
export function quantizedFromTensors(prefix: string, tensors: Map<string, RawTensor>): QuantizedTensor {
  const k = `${prefix}weight`;
  const get = (name: string): RawTensor => {
    const t = tensors.get(name);
    if (!t) throw new QuantInputError(name, 'is missing');
    return t;
  };
  const stateKey = [...tensors.keys()].find((n) => n.startsWith(`${k}.quant_state.`));
  if (!stateKey) throw new QuantInputError(`${k}.quant_state.*`, 'is missing (not a quantized weight)');
  let state: Record<string, unknown>;
  try {
    state = JSON.parse(new TextDecoder().decode(readU8(get(stateKey), stateKey)));
  } catch (e) {
    if (e instanceof QuantInputError) throw e;
    throw new QuantInputError(stateKey, `must hold UTF-8 JSON, ${(e as Error).message}`);
  }
  const codes = readU8(get(k), k);
  const shape = state.shape as number[];
  const length = Array.isArray(shape) ? shape.reduce((a, b) => a * b, 1) : Number(state.length);
  const blockSize = Number(state.blocksize);
  let scheme: QuantScheme;
  let q: QuantizedTensor;
  if (stateKey.endsWith(TUNELOOP_STATE)) {
    scheme = state.scheme as QuantScheme;
    q = { scheme, length, shape, blockSize, codes, absmax: readF32(get(`${k}.absmax`), `${k}.absmax`), doubleQuant: null };
  } else {
    scheme = state.quant_type as QuantScheme;
    if (scheme !== 'nf4' && scheme !== 'fp4') throw new QuantInputError(`${stateKey}.quant_type`, `must be nf4 or fp4, got ${String(scheme)}`);
    const map = readF32(get(`${k}.quant_map`), `${k}.quant_map`);
    const lut = codeLut(scheme);
    if (map.length !== 16 || map.some((v, i) => Math.abs(v - lut[i]) > 1e-6)) {
      throw new QuantInputError(`${k}.quant_map`, `must be bitsandbytes' ${scheme} table (a custom 4-bit code is not supported)`);
    }
    const nested = tensors.has(`${k}.nested_absmax`);
    q = { scheme, length, shape, blockSize, codes, absmax: null, doubleQuant: null };
    if (nested) {
      if (Number(state.nested_blocksize) !== 256) {
        throw new QuantInputError(`${stateKey}.nested_blocksize`, `must be 256, got ${String(state.nested_blocksize)}`);
      }
      const nmap = readF32(get(`${k}.nested_quant_map`), `${k}.nested_quant_map`);
      // torch builds this map in float32; allow a last-bit difference, decode with our copy.
      if (nmap.length !== 256 || nmap.some((v, i) => Math.abs(v - DYNAMIC_MAP_SIGNED[i]) > 1e-6 * Math.max(1e-6, Math.abs(v)))) {
        throw new QuantInputError(`${k}.nested_quant_map`, 'must be the signed dynamic 8-bit map of bitsandbytes');
      }
      q.doubleQuant = {
        blockSize: 256,
        offset: Math.fround(Number(state.nested_offset)),
        codes: readU8(get(`${k}.absmax`), `${k}.absmax`),
        absmax: readF32(get(`${k}.nested_absmax`), `${k}.nested_absmax`),
      };
    } else {
      q.absmax = readF32(get(`${k}.absmax`), `${k}.absmax`);
    }
  }
  checkQuantized(q, k);
  return q;
}
