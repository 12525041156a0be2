// Half / bfloat16 conversions against IEEE 754 bit patterns (binary16 table values, torch's RNE rounding).
import { describe, expect, it } from 'vitest';
import { floatToBf16, floatToHalf, halfToFloat, toFloat32 } from './dtypes.ts';

describe('binary16', () => {
  it('encodes known values to their published bit patterns', () => {
    const table: [number, number][] = [
      [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [2 ** -14, 0x0400], [2 ** -24, 0x0001],
      [0.333251953125, 0x3555], [Infinity, 0x7c00], [-0, 0x8000], [1e6, 0x7c00], [2 ** -26, 0x0000],
    ];
    for (const [v, bits] of table) expect([v, floatToHalf(v)]).toEqual([v, bits]);
    expect(floatToHalf(NaN) & 0x7c00).toBe(0x7c00);
    expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true);
  });
  it('rounds to nearest even and round-trips all 65536 bit patterns', () => {
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie -> even (down)
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
    expect(floatToHalf(65520)).toBe(0x7c00); // rounds past max -> inf
    for (let h = 0; h < 0x10000; h++) {
      const v = halfToFloat(h);
      if (!Number.isNaN(v) && floatToHalf(v) !== h) throw new Error(`0x${h.toString(16)} -> ${v} -> 0x${floatToHalf(v).toString(16)}`);
    }
  });
});

describe('bfloat16', () => {
  it('rounds to nearest even like torch', () => {
    expect(floatToBf16(1)).toBe(0x3f80);
    expect(floatToBf16(Math.PI)).toBe(0x4049);
    expect(floatToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie -> even
    expect(floatToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(floatToBf16(-Infinity)).toBe(0xff80);
    expect(floatToBf16(NaN) & 0x7f80).toBe(0x7f80);
    expect(floatToBf16(NaN) & 0x7f).not.toBe(0);
  });
});

describe('toFloat32 over a Node Buffer view', () => {
  it('reads only the view, not the pooled ArrayBuffer behind it', () => {
    const pool = Buffer.alloc(64, 0xff);
    const bytes = new Uint8Array(new Float32Array([1.5, -2]).buffer);
    pool.set(bytes, 8);
    const view = pool.subarray(8, 16); // a Buffer, byteOffset 8 into a larger buffer
    expect([...toFloat32({ dtype: 'F32', shape: [2], data: view })]).toEqual([1.5, -2]);
  });
});
