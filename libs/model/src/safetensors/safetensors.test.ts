// safetensors reader/writer tests: round trips for every dtype, and one distinct error per malformed file.
import { describe, expect, it } from 'vitest';
import { fromFloat32, toFloat32, type RawTensor } from './dtypes.ts';
import { parseSafetensors } from './reader.ts';
import { serializeSafetensors } from './writer.ts';

/** A file from a literal header object and data bytes (headerLength overrides the prefix). */
function build(header: unknown, data: Uint8Array, headerLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    return `${(err as Error).name}:${(err as { code: string }).code}`;
  }
  return 'no error';
};

describe('safetensors round trip', () => {
  it('writes and reads back every dtype byte-for-byte, with metadata', () => {
    const tensors = new Map<string, RawTensor>([
      ['a.f32', fromFloat32([1.5, -2, 3.25, 1e-3, 7, 8], 'F32', [2, 3])],
      ['b.f16', fromFloat32([1, -0.5, 65504, 2 ** -24], 'F16', [4])],
      ['c.bf16', fromFloat32([Math.PI, -1, 0, 3e38], 'BF16', [2, 2])],
      ['d.i8', fromFloat32([-128, 0, 127], 'I8', [3])],
      ['e.u8', fromFloat32([0, 255, 7], 'U8', [1, 3])],
      ['f.i32', fromFloat32([-5, 123456], 'I32', [2])],
      ['g.i64', fromFloat32([-1, 2 ** 40], 'I64', [2])],
      ['h.f64', fromFloat32([0.1, -0.25], 'F64', [2])],
      ['scalar', fromFloat32([42], 'F32', [])],
      ['empty', fromFloat32([], 'F32', [0, 4])],
    ]);
    const file = serializeSafetensors(tensors, { format: 'pt' });
    expect(new DataView(file.buffer).getBigUint64(0, true) % 8n).toBe(0n);
    const back = parseSafetensors(file);
    expect(back.metadata).toEqual({ format: 'pt' });
    expect([...back.tensors.keys()]).toEqual([...tensors.keys()]);
    for (const [name, t] of tensors) {
      const r = back.tensors.get(name)!;
      expect(r.dtype).toBe(t.dtype);
      expect(r.shape).toEqual(t.shape);
      expect(Buffer.from(r.data).equals(Buffer.from(t.data))).toBe(true);
    }
    expect(Buffer.from(serializeSafetensors(back.tensors, back.metadata)).equals(Buffer.from(file))).toBe(true);
    expect([...toFloat32(back.tensors.get('b.f16')!)]).toEqual([1, -0.5, 65504, 2 ** -24]);
    expect([...toFloat32(back.tensors.get('c.bf16')!)]).toEqual([3.140625, -1, 0, 1.765625 * 2 ** 127]);
    expect([...toFloat32(back.tensors.get('g.i64')!)]).toEqual([-1, 2 ** 40]);
  });

  it('reads a file laid out by the reference writer (hand-built header, unaligned)', () => {
    const data = new Uint8Array([0, 0, 128, 63, 0, 0, 0, 64, 0x80, 0x3f]);
    const file = build({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'BF16', shape: [1], data_offsets: [8, 10] } }, data);
    const { tensors, metadata } = parseSafetensors(file);
    expect(metadata).toBeNull();
    expect([...toFloat32(tensors.get('w')!)]).toEqual([1, 2]);
    expect([...toFloat32(tensors.get('b')!)]).toEqual([1]);
  });
});

describe('malformed safetensors: one distinct error each, nothing returned', () => {
  const ok = { w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } };
  const data16 = new Uint8Array(16);
  const cases: [string, () => unknown, string][] = [
    ['truncated length prefix', () => parseSafetensors(new Uint8Array(5)), 'truncated'],
    ['truncated header', () => parseSafetensors(build(ok, data16).subarray(0, 20)), 'truncated'],
    ['truncated data', () => parseSafetensors(build(ok, data16).subarray(0, build(ok, data16).length - 3)), 'truncated'],
    ['header too long', () => parseSafetensors(build(ok, data16, 2n ** 40n)), 'header_too_large'],
    ['header not JSON', () => parseSafetensors(build(ok, data16).fill(0x7b, 8, 12)), 'header_invalid_json'],
    ['header an array', () => parseSafetensors(build([1], new Uint8Array(0))), 'header_invalid_json'],
    ['metadata not strings', () => parseSafetensors(build({ __metadata__: { a: 1 }, ...ok }, data16)), 'metadata_invalid'],
    ['entry without offsets', () => parseSafetensors(build({ w: { dtype: 'F32', shape: [4] } }, data16)), 'entry_invalid'],
    ['unknown dtype', () => parseSafetensors(build({ w: { dtype: 'F8_E9', shape: [16], data_offsets: [0, 16] } }, data16)), 'unknown_dtype'],
    ['shape/byte mismatch', () => parseSafetensors(build({ w: { dtype: 'F32', shape: [3, 2], data_offsets: [0, 16] } }, data16)), 'shape_mismatch'],
    [
      'offsets out of range',
      () =>
        parseSafetensors(
          build({ a: { dtype: 'U8', shape: [8], data_offsets: [0, 8] }, b: { dtype: 'U8', shape: [8], data_offsets: [100, 108] } }, data16),
        ),
      'offset_out_of_range',
    ],
    [
      'overlapping',
      () =>
        parseSafetensors(
          build({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, data16),
        ),
      'overlapping',
    ],
    [
      'gap between tensors',
      () =>
        parseSafetensors(
          build({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, data16),
        ),
      'incomplete_coverage',
    ],
    ['trailing bytes', () => parseSafetensors(build(ok, new Uint8Array(20))), 'incomplete_coverage'],
  ];
  for (const [label, f, code] of cases) {
    it(`${label} -> ${code}`, () => {
      expect(codeOf(f)).toBe(`SafetensorsError:${code}`);
    });
  }
  it('messages name the tensor and the numbers', () => {
    expect(() => parseSafetensors(build({ w: { dtype: 'F32', shape: [3, 2], data_offsets: [0, 16] } }, data16))).toThrow(
      "safetensors shape_mismatch: tensor 'w': shape [3, 2] x F32 needs 24 bytes, data_offsets [0, 16] hold 16",
    );
    expect(() => parseSafetensors(build(ok, data16, 2n ** 40n))).toThrow(/header length 1099511627776 exceeds the limit of 100000000 bytes/);
  });
  it('the writer refuses inconsistent tensors', () => {
    const bad = { dtype: 'F32', shape: [3], data: new Uint8Array(8) } as RawTensor;
    expect(codeOf(() => serializeSafetensors(new Map([['x', bad]])))).toBe('SafetensorsError:shape_mismatch');
    expect(codeOf(() => serializeSafetensors(new Map([['x', { ...bad, dtype: 'Q4' } as unknown as RawTensor]])))).toBe(
      'SafetensorsError:unknown_dtype',
    );
    expect(codeOf(() => serializeSafetensors([['__metadata__', fromFloat32([1], 'F32', [1])]]))).toBe('SafetensorsError:invalid_tensor');
  });
});
