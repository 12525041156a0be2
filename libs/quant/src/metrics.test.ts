// Storage accounting from the stored bytes (QLoRA's 4.127 bits for NF4 + double quant) and the
// accuracy ordering of the schemes on the same seeded gaussian weights.
import { describe, expect, it } from 'vitest';
import { bitsPerParameter, quantizationError, storageBytes } from './metrics.ts';
import { quantize } from './quantize.ts';
import { seededGaussian } from './seeded-gaussian.ts';

const n = 64 * 256 * 4; // 1024 blocks of 64, 4 nested blocks of 256
const w = seededGaussian(n, 42, 0.02);

describe('bitsPerParameter', () => {
  it('nf4 + double quant stores at most 4.13 bits per parameter (QLoRA: 4.127)', () => {
    const q = quantize(w, { scheme: 'nf4', doubleQuant: true });
    const s = storageBytes(q);
    // codes n/2, one 8-bit absmax code per block, float32 absmax per 256 blocks, float32 offset
    expect(s).toEqual({ codeBytes: n / 2, scaleBytes: 1024, doubleQuantBytes: 4 * 4 + 4, totalBytes: n / 2 + 1024 + 20 });
    const bits = bitsPerParameter(q);
    expect(bits).toBeCloseTo(4 + 8 / 64 + 32 / (64 * 256), 3);
    expect(bits).toBeLessThanOrEqual(4.13);
  });

  it('nf4 without double quant costs 4.5 bits; int8 with blocks of 64 at most 8.6 (8.5)', () => {
    expect(bitsPerParameter(quantize(w, { scheme: 'nf4' }))).toBe(4.5);
    const int8 = bitsPerParameter(quantize(w, { scheme: 'int8', blockSize: 64 }));
    expect(int8).toBe(8.5);
    expect(int8).toBeLessThanOrEqual(8.6);
    expect(bitsPerParameter(quantize(w, { scheme: 'int2' }))).toBe(2.5);
  });

  it('counts the padding of an odd length and a partial block', () => {
    const q = quantize(seededGaussian(65, 1), { scheme: 'int4' });
    expect(storageBytes(q).totalBytes).toBe(33 + 2 * 4);
  });
});

describe('quantizationError', () => {
  it('shrinks from int2 to int4 to int8 on the same gaussian data, and nf4 beats int4', () => {
    const err = Object.fromEntries(
      (['int2', 'int4', 'nf4', 'int8'] as const).map((s) => [s, quantizationError(w, quantize(w, { scheme: s }))]),
    );
    expect(err.int2.mse).toBeGreaterThan(err.int4.mse);
    expect(err.int4.mse).toBeGreaterThan(err.int8.mse);
    expect(err.int4.mse).toBeGreaterThan(err.nf4.mse);
    expect(err.int2.snrDb).toBeLessThan(err.int4.snrDb);
    expect(err.int4.snrDb).toBeLessThan(err.int8.snrDb);
    expect(err.int2.maxAbsError).toBeGreaterThan(err.int8.maxAbsError);
    // int8 error per value is at most half a step: absmax / 127 / 2
    expect(err.int8.maxAbsError).toBeLessThanOrEqual(Math.max(...Array.from(w, Math.abs)) / 254 + 1e-9);
  });

  it('is computed as hand-checked on a tiny case', () => {
    // int4, absmax 7: 1.4 -> 1, 7 -> 7: errors 0.4 and 0; mse 0.08; SNR 10 log10((1.96 + 49) / 0.16)
    const v = Float32Array.from([1.4, 7]);
    const e = quantizationError(v, quantize(v, { scheme: 'int4', blockSize: 2 }));
    expect(e.mse).toBeCloseTo(0.08, 6);
    expect(e.maxAbsError).toBeCloseTo(0.4, 6);
    expect(e.snrDb).toBeCloseTo(10 * Math.log10((Math.fround(1.4) ** 2 + 49) / 0.16), 4);
    const exact = Float32Array.from([7, -7]);
    expect(quantizationError(exact, quantize(exact, { scheme: 'int4', blockSize: 2 })).snrDb).toBe(Infinity);
  });

  it('rejects a length mismatch naming the field', () => {
    const q = quantize(w.slice(0, 10), { scheme: 'int8' });
    expect(() => quantizationError(w.slice(0, 9), q)).toThrow('original: length 9 must equal q.length 10');
  });
});
