import { describe, expect, it } from 'vitest';
import { krippendorffAlpha } from './krippendorff.ts';

// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 coders, 12 units,
// values 1..5 with missing data. Published: nominal 0.743, ordinal 0.815, interval 0.849, ratio 0.797.
const A = [1, 2, 3, 3, 2, 1, 4, 1, 2, null, null, null];
const B = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, null, 3];
const C = [null, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, null];
const D = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, null];
const units = A.map((_, u) => [A[u], B[u], C[u], D[u]].filter((v): v is number => v !== null));

describe('krippendorffAlpha', () => {
  it('reproduces the published example for every metric', () => {
    expect(krippendorffAlpha(units, 'nominal')).toBeCloseTo(0.743, 3);
    expect(krippendorffAlpha(units, 'ordinal')).toBeCloseTo(0.815, 3);
    expect(krippendorffAlpha(units, 'interval')).toBeCloseTo(0.849, 3);
    expect(krippendorffAlpha(units, 'ratio')).toBeCloseTo(0.797, 3);
  });
  it('hand-computed two-coder case: one disagreement among three units', () => {
    // Units (1,1) (2,2) (1,2): o11=2, o22=2, o12=o21=1, n=6, n1=n2=3.
    // Nominal: 1 - (n-1) * (o12+o21) / (2 * n1 * n2) = 1 - 5 * 2 / 18 = 0.4444.
    expect(krippendorffAlpha([[1, 1], [2, 2], [1, 2]], 'nominal')).toBeCloseTo(1 - 10 / 18, 10);
  });
  it('is 1 for perfect agreement and NaN without variation or pairable units', () => {
    expect(krippendorffAlpha([[1, 1], [2, 2], [3, 3]], 'ordinal')).toBe(1);
    expect(krippendorffAlpha([[1, 1], [1, 1]], 'ordinal')).toBeNaN();
    expect(krippendorffAlpha([[1], [2]], 'ordinal')).toBeNaN();
  });
});
