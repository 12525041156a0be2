import { describe, expect, it } from 'vitest';
import { pairsFromRanking, positionsToIndices, ranksOf, validateRanking } from './ranking.ts';

describe('pairsFromRanking', () => {
  it('a strict K-way ranking gives K(K-1)/2 pairs, each winner above each loser', () => {
    for (let k = 2; k <= 6; k++) {
      const ranking = Array.from({ length: k }, (_, i) => [k - 1 - i]);
      const pairs = pairsFromRanking(ranking);
      expect(pairs).toHaveLength((k * (k - 1)) / 2);
      for (const p of pairs) expect(p.chosen).toBeGreaterThan(p.rejected);
    }
    expect(pairsFromRanking([[2], [0], [1]])).toEqual([
      { chosen: 2, rejected: 0, margin: null },
      { chosen: 2, rejected: 1, margin: null },
      { chosen: 0, rejected: 1, margin: null },
    ]);
  });
  it('ties give no pair; strength sets the margin', () => {
    expect(pairsFromRanking([[0, 1]])).toEqual([]);
    expect(pairsFromRanking([[0, 1], [2]], 'much')).toEqual([
      { chosen: 0, rejected: 2, margin: 1 },
      { chosen: 1, rejected: 2, margin: 1 },
    ]);
    expect(pairsFromRanking([[1], [0]], 'slightly')[0].margin).toBeCloseTo(1 / 3);
  });
});

describe('validateRanking', () => {
  it('accepts partitions and names the problem otherwise', () => {
    expect(validateRanking([[1], [0, 2]], 3)).toEqual([[1], [0, 2]]);
    expect(() => validateRanking([[0], [0]], 2)).toThrow('ranking: response 0 appears twice');
    expect(() => validateRanking([[0]], 2)).toThrow('ranking: must rank all 2 responses, got 1');
    expect(() => validateRanking([[0], [5]], 2)).toThrow('ranking: response index must be an integer in 0..1, got 5');
    expect(() => validateRanking('x', 2)).toThrow('ranking: must be a non-empty array');
    expect(() => validateRanking([[]], 2)).toThrow('every group must be a non-empty array');
  });
});

describe('positionsToIndices and ranksOf', () => {
  it('maps screen positions through the recorded order', () => {
    expect(positionsToIndices([[0], [1], [2]], [2, 0, 1])).toEqual([[2], [0], [1]]);
  });
  it('gives mid-ranks to ties', () => {
    expect(ranksOf([[2], [0, 1]], 3)).toEqual([2.5, 2.5, 1]);
    expect(ranksOf([[0], [1], [2], [3]], 4)).toEqual([1, 2, 3, 4]);
  });
});
