// Numeric answers: final-number extraction (free text, ####, \boxed{}, thousands separators,
// decimals, fractions, signs) and the tolerance.
import { describe, expect, it } from 'vitest';
import { extractFinalNumber, numericAnswer } from './numeric.ts';

describe('extractFinalNumber', () => {
  it.each([
    ['Six sevens are 42.', 42],
    ['First 3 then 1,042 apples', 1042],
    ['The total is -3.5 degrees', -3.5],
    ['step 1: 2+2=4\n#### 4', 4],
    ['#### 12 because 7 + 5', 12],
    ['so \\boxed{3/4} is it, not 5', 0.75],
    ['\\boxed{17} and then 99', 17],
    ['thus \\boxed{\\frac{3}{4}}', 0.75],
    ['#### -\\dfrac{1}{2}', -0.5],
    ['about 1.5e3 m', 1500],
    ['value .5', 0.5],
    ['no digits here', null],
  ])('%j -> %j', (text, expected) => {
    expect(extractFinalNumber(text)).toBe(expected);
  });
});

describe('numericAnswer', () => {
  it('compares with absolute and relative tolerance', () => {
    const s = numericAnswer({ absTol: 1e-6 });
    expect(s('6*7?', 'It is 42', '42')).toBe(1);
    expect(s('6*7?', 'It is 41', '#### 42')).toBe(0);
    expect(s('6*7?', 'no idea', '42')).toBe(0);
    expect(s('6*7?', '42')).toBeNull();
    expect(s('6*7?', '42', 'unknown')).toBeNull();
    expect(s('1/3?', '0.3333334', '0.3333333')).toBe(1); // |diff| = 1e-7 <= 1e-6
    expect(numericAnswer({ relTol: 0.01 })('', '101', '100')).toBe(1);
    expect(numericAnswer({ relTol: 0.01 })('', '102', '100')).toBe(0);
  });
  it('rejects bad tolerances naming the field', () => {
    expect(() => numericAnswer({ absTol: -1 })).toThrow('absTol: must be a finite number >= 0, got -1');
    expect(() => numericAnswer({ relTol: Number.NaN })).toThrow('relTol: must be a finite number >= 0, got NaN');
  });
});
