import { describe, expect, it } from 'vitest';
import { majorityAgreement, pairSupport, pairwisePercentAgreement, rankingAlpha, type RankingRecord } from './agreement.ts';

const rec = (comparisonId: string, userId: string, ranking: number[][]): RankingRecord => ({ comparisonId, userId, k: ranking.flat().length, ranking });

describe('agreement', () => {
  it('perfect agreement gives alpha 1 and 100 % pairwise agreement', () => {
    const rs = [rec('c1', 'a', [[0], [1], [2]]), rec('c1', 'b', [[0], [1], [2]]), rec('c2', 'a', [[2], [1], [0]]), rec('c2', 'b', [[2], [1], [0]])];
    expect(rankingAlpha(rs)).toBeCloseTo(1, 12);
    expect(pairwisePercentAgreement(rs)).toEqual({ agreement: 1, comparedPairs: 6 });
  });
  it('hand-computed pairwise and majority agreement', () => {
    // c1 (K=2): a and b prefer 0, c prefers 1. Annotator pairs: ab agree, ac and bc disagree -> 1/3.
    const rs = [rec('c1', 'a', [[0], [1]]), rec('c1', 'b', [[0], [1]]), rec('c1', 'c', [[1], [0]])];
    expect(pairwisePercentAgreement(rs).agreement).toBeCloseTo(1 / 3, 12);
    const maj = majorityAgreement(rs);
    // a: others {b: 0>1, c: 1>0} split -> left out. c: others both 0>1, c said 1>0 -> 0.
    expect(maj.get('a')).toBeUndefined();
    expect(maj.get('c')).toEqual({ agreement: 0, judged: 1 });
    const support = pairSupport(rs);
    expect(support('c1', 0, 1)).toBeCloseTo(2 / 3, 12);
    expect(support('c1', 1, 0)).toBeCloseTo(1 / 3, 12);
  });
  it('two annotators with reversed K=2 rankings: alpha below 0', () => {
    // Units (c1,0): ranks 1,2 and (c1,1): 2,1; plus an agreeing comparison c2.
    const rs = [rec('c1', 'a', [[0], [1]]), rec('c1', 'b', [[1], [0]]), rec('c2', 'a', [[0], [1]]), rec('c2', 'b', [[0], [1]])];
    // Units: (1,2) (2,1) (1,1) (2,2): o12 = o21 = 2, o11 = o22 = 2, n = 8, n1 = n2 = 4;
    // ordinal delta^2(1,2) = (4 + 4 - 4)^2 = 16: alpha = 1 - 7 * (4 * 16) / (2 * 16 * 16) = 0.125.
    expect(rankingAlpha(rs)).toBeCloseTo(0.125, 12);
  });
});
