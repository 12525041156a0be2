// Rankings and the preference pairs they imply. A ranking is a list of groups of response indices,
// best first; a group of two or more is a tie. A strict K-way ranking gives K(K-1)/2 pairs
// (every response beats every response ranked below it); tied responses give no pair.

export type Ranking = number[][];
export type Strength = 'slightly' | 'much';

export interface PreferencePair {
  chosen: number;
  rejected: number;
  /** Bradley-Terry margin from the stated strength (much = 1, slightly = 1/3, none = null). */
  margin: number | null;
}

/** Margin per strength, on the Llama 2 reward-model scale (significantly better = 1, slightly = 1/3). */
export const STRENGTH_MARGIN: Record<Strength, number> = { much: 1, slightly: 1 / 3 };

/** Validate that `ranking` is a partition of 0..k-1 into non-empty groups; throws naming the field. */
export function validateRanking(ranking: unknown, k: number): Ranking {
  if (!Array.isArray(ranking) || ranking.length === 0) {
    throw new RangeError(`ranking: must be a non-empty array of groups, got ${JSON.stringify(ranking)}`);
  }
  const seen = new Set<number>();
  for (const group of ranking) {
    if (!Array.isArray(group) || group.length === 0) throw new RangeError(`ranking: every group must be a non-empty array, got ${JSON.stringify(group)}`);
    for (const i of group) {
      if (!Number.isInteger(i) || i < 0 || i >= k) throw new RangeError(`ranking: response index must be an integer in 0..${k - 1}, got ${JSON.stringify(i)}`);
      if (seen.has(i)) throw new RangeError(`ranking: response ${i} appears twice`);
      seen.add(i);
    }
  }
  if (seen.size !== k) throw new RangeError(`ranking: must rank all ${k} responses, got ${seen.size}`);
  return ranking as Ranking;
}

/** Every (chosen, rejected) pair implied by a ranking: response a beats b when a's group comes first. */
export function pairsFromRanking(ranking: Ranking, strength: Strength | null = null): PreferencePair[] {
  const margin = strength ? STRENGTH_MARGIN[strength] : null;
  const pairs: PreferencePair[] = [];
  for (let g = 0; g < ranking.length; g++) {
    for (let h = g + 1; h < ranking.length; h++) {
      for (const chosen of ranking[g]) for (const rejected of ranking[h]) pairs.push({ chosen, rejected, margin });
    }
  }
  return pairs;
}

/** Map a ranking of screen positions to original response indices: position p shows order[p]. */
export function positionsToIndices(positions: Ranking, order: number[]): Ranking {
  return positions.map((g) => g.map((p) => {
    if (!Number.isInteger(p) || p < 0 || p >= order.length) throw new RangeError(`ranking: position must be in 0..${order.length - 1}, got ${p}`);
    return order[p];
  }));
}

/** Mid-rank (1 = best) of every response: tied responses share the mean of the places they span. */
export function ranksOf(ranking: Ranking, k: number): number[] {
  const ranks = new Array<number>(k).fill(NaN);
  let place = 1;
  for (const group of ranking) {
    const mid = place + (group.length - 1) / 2;
    for (const i of group) ranks[i] = mid;
    place += group.length;
  }
  return ranks;
}
