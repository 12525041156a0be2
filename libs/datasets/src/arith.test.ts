// The arith corpus: seeded, uses only its alphabet, sums are right, and held-out pairs never leak into training.
import { describe, expect, it } from 'vitest';
import { ARITH_ALPHABET, heldOutAdditions, isHeldOut, takeArith } from './arith.ts';

describe('arith corpus', () => {
  const ex = takeArith({ seed: 1 }, 5000);
  it('is reproducible per seed', () => {
    expect(takeArith({ seed: 1 }, 50)).toEqual(ex.slice(0, 50));
    expect(takeArith({ seed: 2 }, 50)).not.toEqual(ex.slice(0, 50));
  });
  it('uses only its alphabet and computes sums and differences correctly', () => {
    for (const e of ex) {
      for (const ch of e.prompt + e.completion) expect(ARITH_ALPHABET).toContain(ch);
      const m = /^(\d+)([+-])(\d+)=$/.exec(e.prompt);
      if (m) expect(Number(e.completion)).toBe(m[2] === '+' ? Number(m[1]) + Number(m[3]) : Number(m[1]) - Number(m[3]));
    }
  });
  it('holds out about 10% of 2-digit pairs and never trains on them', () => {
    const held = heldOutAdditions();
    expect(held.length).toBeGreaterThan(700);
    expect(held.length).toBeLessThan(920);
    for (const e of ex) {
      const m = /(\d\d)\D+(\d\d)\D/.exec(e.prompt);
      if (m && /\+|plus|add/.test(e.prompt)) expect(isHeldOut(Number(m[1]), Number(m[2]))).toBe(false);
    }
    expect(ex.filter((e) => /^\d\d\+\d\d=$/.test(e.prompt)).length).toBeGreaterThan(3000);
  });
});
