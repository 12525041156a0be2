// Length penalty: DAPO's soft overlong punishment, by hand.
import { describe, expect, it } from 'vitest';
import { lengthPenalty } from './length-penalty.ts';

describe('lengthPenalty', () => {
  it('0 up to maxLength - cacheLength, linear to -1 at maxLength, -1 beyond', () => {
    const s = lengthPenalty({ maxLength: 100, cacheLength: 20 });
    expect(s('p', 'x'.repeat(80))).toBe(0);
    expect(s('p', 'x'.repeat(90))).toBe(-0.5);
    expect(s('p', 'x'.repeat(100))).toBe(-1);
    expect(s('p', 'x'.repeat(120))).toBe(-1);
  });
  it('counts words or with a custom counter', () => {
    expect(lengthPenalty({ maxLength: 4, cacheLength: 2, unit: 'words' })('p', 'a b  c')).toBe(-0.5);
    expect(lengthPenalty({ maxLength: 10, cacheLength: 5, count: (s) => s.length * 2 })('p', 'abcd')).toBe(-0.6);
  });
  it('rejects bad limits naming the field', () => {
    expect(() => lengthPenalty({ maxLength: 0, cacheLength: 1 })).toThrow('maxLength: must be a number > 0, got 0');
    expect(() => lengthPenalty({ maxLength: 10, cacheLength: 11 })).toThrow('cacheLength: must be in (0, maxLength = 10], got 11');
  });
});
