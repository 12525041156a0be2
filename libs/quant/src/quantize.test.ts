// quantize / dequantize on blocks worked out by hand from the published tables, packing order,
// double quantization, partial blocks and input validation.
import { describe, expect, it } from 'vitest';
import { DYNAMIC_MAP_SIGNED, FP4_CODE, NF4_CODE } from './codebooks.ts';
import { decompressAbsmax } from './double-quant.ts';
import { dequantize, dequantizeRange, quantize } from './quantize.ts';
import { seededGaussian as gaussian } from './seeded-gaussian.ts';
import type { QuantizedTensor } from './types.ts';

const f32 = Math.fround;
const F = (...v: number[]) => Float32Array.from(v);
const bytes = (q: QuantizedTensor) => Array.from(q.codes);

describe('int8 (symmetric absmax, round half to even)', () => {
  it('quantizes a block and a partial block as worked by hand', () => {
    // block 0: absmax 127 -> q = x exactly, halves go to even; block 1: absmax 1.5
    const q = quantize(F(127, 2.5, -3.5, -0.5, 1.5, 0.25), { scheme: 'int8', blockSize: 4 });
    expect(Array.from(q.absmax!)).toEqual([127, 1.5]);
    // 127, 2, -4 (0xFC), -0 -> 0; 1.5 * 127 / 1.5 = 127, 0.25 * 127 / 1.5 = 21.17 -> 21
    expect(bytes(q)).toEqual([127, 2, 0xfc, 0, 127, 21]);
    const step = f32(1.5 / 127);
    expect(Array.from(dequantize(q))).toEqual([127, 2, -4, 0, f32(127 * step), f32(21 * step)]);
  });
});

describe('int4 (symmetric absmax, two codes per byte)', () => {
  it('quantizes a block as worked by hand', () => {
    const q = quantize(F(7, -7, 3.5, 2.5, -0.5, 1, 0, -2), { scheme: 'int4', blockSize: 8 });
    // q = 7, -7, 4, 2, 0, 1, 0, -2 -> nibbles 7 9 | 4 2 | 0 1 | 0 E
    expect(bytes(q)).toEqual([0x79, 0x42, 0x01, 0x0e]);
    expect(Array.from(dequantize(q))).toEqual([7, -7, 4, 2, 0, 1, 0, -2]);
  });
});

describe('int2 (ternary per block, four codes per byte)', () => {
  it('quantizes a block as worked by hand and shows its cost', () => {
    // absmax 2: x / 2 = 1, -0.6, 0.5, -0.4 -> 1, -1, 0 (half to even), 0; element 4 starts byte 1
    const q = quantize(F(2, -1.2, 1, -0.8, 0.3), { scheme: 'int2', blockSize: 4 });
    expect(bytes(q)).toEqual([0b01_11_00_00, 0b01_00_00_00]);
    expect(Array.from(dequantize(q))).toEqual([2, -2, 0, 0, f32(0.3)]);
  });
});

describe('nf4', () => {
  it('quantizes a block as worked by hand from the NF4 table (absmax 1)', () => {
    // 1 -> 15; 0.5 < pivot 0.5017 -> 12; -0.3 > -0.3397, < -0.2346 -> 4; 0.1 < 0.1203 -> 8;
    // 0 -> 7; -0.05 < -0.0455 -> 6; 0.7 > 0.6428 -> 14; -0.9 < -0.8481 -> 0
    const q = quantize(F(1, 0.5, -0.3, 0.1, 0, -0.05, 0.7, -0.9), { scheme: 'nf4' });
    expect(bytes(q)).toEqual([0xfc, 0x48, 0x76, 0xe0]);
    expect(Array.from(dequantize(q))).toEqual([15, 12, 4, 8, 7, 6, 14, 0].map((c) => NF4_CODE[c]));
  });

  it('scales by the block absmax and pads an odd tail with the code of 0 (0b0111)', () => {
    const v = F(1, 0.5, -0.3, 0.1, 0, -0.05, 0.7).map((x) => x * 3);
    const q = quantize(v, { scheme: 'nf4' });
    expect(q.absmax![0]).toBe(3);
    expect(bytes(q)).toEqual([0xfc, 0x48, 0x76, 0xe7]);
    expect(Array.from(dequantize(q))).toEqual([15, 12, 4, 8, 7, 6, 14].map((c) => f32(NF4_CODE[c] * 3)));
  });

  it('packs element 2i in the high nibble (bitsandbytes order)', () => {
    expect(bytes(quantize(F(1, -1), { scheme: 'nf4' }))).toEqual([0xf0]);
    expect(bytes(quantize(F(-1, 1), { scheme: 'nf4' }))).toEqual([0x0f]);
    const table = quantize(F(...NF4_CODE.map((v) => v * 2)), { scheme: 'nf4' });
    expect(bytes(table)).toEqual([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
  });

  it('encodes an all-zero block as code 0 (NaN path of the kernel) and decodes it to zero', () => {
    const q = quantize(new Float32Array(64), { scheme: 'nf4' });
    expect(q.codes.every((b) => b === 0)).toBe(true);
    expect(dequantize(q).every((v) => v === 0)).toBe(true);
  });
});

describe('fp4', () => {
  it('quantizes a block as worked by hand from the FP4 table (absmax 12)', () => {
    const v = F(12, 8, 6, 4, 3, 2, 0.0625, 0, -12, -3, 5.2, 7.5, 10.5, 1.1, 0.03, -0.0001);
    const q = quantize(v, { scheme: 'fp4', blockSize: 32 });
    const codes = [3, 2, 5, 4, 7, 6, 1, 0, 11, 15, 5, 2, 3, 6, 0, 8];
    expect(bytes(q)).toEqual([0x32, 0x54, 0x76, 0x10, 0xbf, 0x52, 0x36, 0x08]);
    expect(Array.from(dequantize(q))).toEqual(codes.map((c) => f32(FP4_CODE[c] * 12)));
  });
});

describe('double quantization (compress_statistics)', () => {
  it('quantizes absmax - mean with the signed dynamic map, as worked by hand', () => {
    // four blocks of 32 with absmax 1, 2, 3, 6: offset 3, centred -2 -1 0 3, absmax2 3,
    // x = -2/3, -1/3, 0, 1 -> nearest dynamic codes 0.1 + 0.9 (j + 0.5) / 64 with j = 40, 16 -> 23, 47; 0 -> 127; 1 -> 255
    const v = new Float32Array(128);
    v[0] = 1;
    v[32] = 2;
    v[64] = 3;
    v[96] = -6;
    const q = quantize(v, { scheme: 'nf4', blockSize: 32, doubleQuant: true });
    expect(q.absmax).toBeNull();
    expect(q.doubleQuant!.offset).toBe(3);
    expect(Array.from(q.doubleQuant!.absmax)).toEqual([3]);
    expect(Array.from(q.doubleQuant!.codes)).toEqual([23, 47, 127, 255]);
    expect(DYNAMIC_MAP_SIGNED[23]).toBeCloseTo(-(0.1 + (0.9 * 40.5) / 64), 7); // float32 linspace: within an ulp
    const rec = decompressAbsmax(q.doubleQuant!);
    expect(rec[0]).toBeCloseTo(3 - 3 * 0.66953125, 6);
    expect(rec[1]).toBeCloseTo(3 - 3 * 0.33203125, 6);
    expect(Array.from(rec.slice(2))).toEqual([3, 6]);
    const d = dequantize(q);
    expect([d[0], d[64], d[96]]).toEqual([rec[0], 3, -6]);
  });

  it('reconstructs gaussian block absmax within half the largest dynamic-map gap', () => {
    const v = gaussian(64 * 1000, 7, 0.02);
    const plain = quantize(v, { scheme: 'nf4' });
    const dq = quantize(v, { scheme: 'nf4', doubleQuant: true });
    expect(Array.from(dq.codes)).toEqual(Array.from(plain.codes)); // same 4-bit codes
    const rec = decompressAbsmax(dq.doubleQuant!);
    const absmax = plain.absmax!;
    const halfGap = 0.9 / 64 / 2; // exponent-6 spacing of the map, halved
    for (let b = 0; b < absmax.length; b++) {
      expect(Math.abs(rec[b] - absmax[b])).toBeLessThanOrEqual(halfGap * dq.doubleQuant!.absmax[b >> 8] * 1.0001);
      expect(Math.abs(rec[b] - absmax[b]) / absmax[b]).toBeLessThan(0.01);
    }
  });
});

describe('partial blocks and ranges', () => {
  it.each(['int8', 'int4', 'int2', 'nf4', 'fp4'] as const)('%s: 1000 values in blocks of 64 keep 16 scales and decode by range', (scheme) => {
    const v = gaussian(1000, 3, 1);
    const q = quantize(v, { scheme, blockSize: 64, shape: [10, 100] });
    expect(q.shape).toEqual([10, 100]);
    expect(q.absmax!.length).toBe(16);
    expect(q.absmax![15]).toBe(Math.max(...Array.from(v.slice(960), Math.abs)));
    const all = dequantize(q);
    const part = new Float32Array(150);
    dequantizeRange(q, 901, 1000, part, 51);
    expect(Array.from(part.slice(51))).toEqual(Array.from(all.slice(901)));
  });
});

describe('validation', () => {
  const v = F(1, 2, 3);
  it.each([
    [{ scheme: 'int3' }, 'scheme: must be one of int8, int4, int2, nf4, fp4, got "int3"'],
    [{ scheme: 'int8', blockSize: 48 }, 'blockSize: must be a power of two in [2, 4096] for int8, got 48'],
    [{ scheme: 'int8', blockSize: 0 }, 'blockSize: must be a power of two in [2, 4096] for int8, got 0'],
    [{ scheme: 'nf4', blockSize: 16 }, 'blockSize: must be a power of two in [32, 4096] for nf4, got 16'],
    [{ scheme: 'int4', doubleQuant: true }, 'doubleQuant: is only defined for nf4 and fp4 (bitsandbytes compress_statistics), got scheme int4'],
    [{ scheme: 'nf4', shape: [2, 2] }, 'shape: product 4 must equal values.length 3'],
  ])('rejects %j', (opts, message) => {
    expect(() => quantize(v, opts as never)).toThrow(message);
  });

  it('names the first non-finite value', () => {
    expect(() => quantize(F(1, NaN), { scheme: 'nf4' })).toThrow('values[1]: must be finite, got NaN');
    expect(() => quantize(F(Infinity), { scheme: 'int8' })).toThrow('values[0]: must be finite, got Infinity');
    expect(() => quantize(new Float32Array(0), { scheme: 'int8' })).toThrow('values: must hold at least 1 value, got 0');
    expect(() => quantize([1, 2] as never, { scheme: 'int8' })).toThrow('values: must be a Float32Array, got array(2)');
  });

  it('rejects a tensor whose stored arrays do not match its metadata', () => {
    const q = quantize(gaussian(100, 1, 1), { scheme: 'nf4' });
    expect(() => dequantize({ ...q, codes: q.codes.slice(1) })).toThrow('q.codes: expected 50 bytes for 100 nf4 values, got 49');
    expect(() => dequantize({ ...q, shape: [3, 33] })).toThrow('q.shape: must be integers >= 1 whose product is length 100, got array(2)');
    expect(() => dequantize({ ...q, absmax: new Float32Array(1) })).toThrow('q.absmax: expected a Float32Array of 2 block scales, got Float32Array');
  });
});
