// The safetensors layout of a QuantizedTensor: bitsandbytes' Linear4bit keys for nf4/fp4 (as
// transformers saves them), round trips through @tuneloop/model's safetensors writer and reader.
import { parseSafetensors, serializeSafetensors, type RawTensor } from '@tuneloop/model';
import { describe, expect, it } from 'vitest';
import { DYNAMIC_MAP_SIGNED, NF4_CODE } from './codebooks.ts';
import { dequantize, quantize } from './quantize.ts';
import { seededGaussian } from './seeded-gaussian.ts';
import { hasQuantizedWeight, quantizedFromTensors, quantizedToTensors } from './tensor-layout.ts';

const P = 'model.layers.0.self_attn.q_proj.';
const w = seededGaussian(24 * 40, 21, 0.05);
const f32 = (a: readonly number[] | Float32Array): RawTensor => ({ dtype: 'F32', shape: [a.length], data: new Uint8Array(Float32Array.from(a).buffer) });
const u8 = (a: Uint8Array, shape = [a.length]): RawTensor => ({ dtype: 'U8', shape, data: a });
const text = (t: RawTensor) => JSON.parse(new TextDecoder().decode(t.data));

describe('quantizedToTensors / quantizedFromTensors', () => {
  it('writes nf4 + double quant with the keys, dtypes and JSON fields of bitsandbytes', () => {
    const q = quantize(w, { scheme: 'nf4', doubleQuant: true, shape: [24, 40], blockSize: 64 });
    const t = quantizedToTensors(P, q);
    expect([...t.keys()].sort()).toEqual(
      ['', '.absmax', '.nested_absmax', '.nested_quant_map', '.quant_map', '.quant_state.bitsandbytes__nf4'].map((s) => `${P}weight${s}`),
    );
    expect(t.get(`${P}weight`)).toMatchObject({ dtype: 'U8', shape: [480, 1] });
    expect(t.get(`${P}weight.absmax`)).toMatchObject({ dtype: 'U8', shape: [15] });
    expect(t.get(`${P}weight.nested_absmax`)).toMatchObject({ dtype: 'F32', shape: [1] });
    expect(text(t.get(`${P}weight.quant_state.bitsandbytes__nf4`)!)).toEqual({
      quant_type: 'nf4', blocksize: 64, dtype: 'float32', shape: [24, 40],
      nested_blocksize: 256, nested_dtype: 'float32', nested_offset: q.doubleQuant!.offset,
    });
    expect(Array.from(new Float32Array(t.get(`${P}weight.quant_map`)!.data.slice().buffer))).toEqual(NF4_CODE);
  });

  it.each([
    ['nf4', true], ['nf4', false], ['fp4', true], ['fp4', false], ['int8', false], ['int4', false], ['int2', false],
  ] as const)('%s (doubleQuant %s) round-trips through a safetensors file', (scheme, doubleQuant) => {
    const q = quantize(w, { scheme, doubleQuant, shape: [24, 40] });
    const file = serializeSafetensors(quantizedToTensors(P, q));
    const back = parseSafetensors(file).tensors;
    expect(hasQuantizedWeight(P, back)).toBe(true);
    expect(hasQuantizedWeight('lm_head.', back)).toBe(false);
    const r = quantizedFromTensors(P, back);
    expect(r).toEqual(q);
    expect(Array.from(dequantize(r))).toEqual(Array.from(dequantize(q)));
  });

  it('reads a state dict laid out by hand as transformers saves a bitsandbytes Linear4bit', () => {
    // 64 values: one block, absmax 2, codes 0..15 then zeros; nested: single absmax -> offset = absmax
    const codes = new Uint8Array(32);
    codes.set([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
    for (let i = 8; i < 32; i++) codes[i] = 0x77;
    const state = new TextEncoder().encode(
      JSON.stringify({ quant_type: 'nf4', blocksize: 64, dtype: 'bfloat16', shape: [4, 16], nested_blocksize: 256, nested_dtype: 'float32', nested_offset: 2.0 }),
    );
    const tensors = new Map<string, RawTensor>([
      [`${P}weight`, u8(codes, [32, 1])],
      [`${P}weight.absmax`, u8(Uint8Array.of(127))], // dynamic code 127 = 0
      [`${P}weight.quant_map`, f32(NF4_CODE)],
      [`${P}weight.nested_absmax`, f32([0])],
      [`${P}weight.nested_quant_map`, f32(DYNAMIC_MAP_SIGNED)],
      [`${P}weight.quant_state.bitsandbytes__nf4`, u8(state)],
    ]);
    const q = quantizedFromTensors(P, tensors);
    expect(q.shape).toEqual([4, 16]);
    const d = dequantize(q);
    expect(Array.from(d.slice(0, 16))).toEqual(NF4_CODE.map((v) => Math.fround(v * 2)));
    expect(d.slice(16).every((v) => v === 0)).toBe(true);
  });

  it('rejects a custom 4-bit code or a missing tensor, naming the key', () => {
    const t = quantizedToTensors(P, quantize(w, { scheme: 'nf4' }));
    const bad = new Map(t);
    bad.set(`${P}weight.quant_map`, f32(NF4_CODE.map((v) => v * 0.9)));
    expect(() => quantizedFromTensors(P, bad)).toThrow(`${P}weight.quant_map: must be bitsandbytes' nf4 table (a custom 4-bit code is not supported)`);
    const missing = new Map(t);
    missing.delete(`${P}weight.absmax`);
    expect(() => quantizedFromTensors(P, missing)).toThrow(`${P}weight.absmax: is missing`);
    expect(() => quantizedFromTensors('lm_head.', t)).toThrow('lm_head.weight.quant_state.*: is missing (not a quantized weight)');
  });
});
