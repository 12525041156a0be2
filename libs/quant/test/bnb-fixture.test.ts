// Byte-for-byte cross-check against bnb-fixture.json, written by bnb-reference.py: an independent
// NumPy reimplementation of bitsandbytes' NF4 / FP4 blockwise quantization and double quantization.
import { describe, expect, it } from 'vitest';
import { DYNAMIC_MAP_SIGNED, quantize } from '../src/index.ts';
import fixture from './bnb-fixture.json';

/** The fixture's inputs: Irwin-Hall(4) over a 32-bit LCG, a spike every 97th value (as in the script). */
function fixtureValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let k = 0; k < 4; k++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      acc += s;
    }
    const x = ((acc - 2 ** 33) / 2 ** 33) * 0.05;
    out[i] = i % 97 === 0 ? x * 8 : x;
  }
  return out;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const values = fixtureValues(fixture.n, fixture.seed);

describe('cross-check with the NumPy reference of bitsandbytes', () => {
  it('regenerates the same inputs and the same signed dynamic map', () => {
    expect(Array.from(values.slice(0, 8))).toEqual(fixture.valuesHead);
    expect(Array.from(DYNAMIC_MAP_SIGNED)).toEqual(fixture.dynamicMap);
  });

  it.each(['nf4', 'fp4'] as const)('%s: packed codes, absmax and double-quant state match byte for byte', (scheme) => {
    const ref = fixture[scheme];
    const plain = quantize(values, { scheme, blockSize: fixture.blockSize });
    expect(Array.from(plain.absmax!)).toEqual(ref.absmax);
    expect(hex(plain.codes)).toBe(ref.codes);
    const dq = quantize(values, { scheme, blockSize: fixture.blockSize, doubleQuant: true });
    expect(dq.doubleQuant!.offset).toBe(ref.doubleQuant.offset);
    expect(Array.from(dq.doubleQuant!.absmax)).toEqual(ref.doubleQuant.absmax);
    expect(hex(dq.doubleQuant!.codes)).toBe(ref.doubleQuant.codes);
  });
});
