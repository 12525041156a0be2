// Agreement statistics over rankings of the same comparisons by several annotators: Krippendorff's
// ordinal alpha on mid-ranks, pairwise percent agreement, and each annotator's agreement with the
// majority of the others on every response pair.
import { krippendorffAlpha } from './krippendorff.ts';
import { ranksOf, type Ranking } from './ranking.ts';

export interface RankingRecord {
  comparisonId: string;
  userId: string;
  k: number;
  ranking: Ranking;
}

/** -1: first of the pair preferred, 1: second preferred, 0: tie. */
type Judgment = -1 | 0 | 1;

/** Ordinal alpha: a unit is (comparison, response), a coder is an annotator, the value is its mid-rank. */
export function rankingAlpha(records: RankingRecord[]): number {
  const units = new Map<string, number[]>();
  for (const r of records) {
    const ranks = ranksOf(r.ranking, r.k);
    ranks.forEach((rank, i) => {
      const key = `${r.comparisonId}\u0000${i}`;
      const u = units.get(key) ?? [];
      u.push(rank);
      units.set(key, u);
    });
  }
  return krippendorffAlpha([...units.values()], 'ordinal');
}

/** judgments[comparison|i|j] = per-annotator judgment on the response pair (i < j). */
function pairJudgments(records: RankingRecord[]): Map<string, Map<string, Judgment>> {
  const out = new Map<string, Map<string, Judgment>>();
  for (const r of records) {
    const ranks = ranksOf(r.ranking, r.k);
    for (let i = 0; i < r.k; i++) {
      for (let j = i + 1; j < r.k; j++) {
        const key = `${r.comparisonId}\u0000${i}\u0000${j}`;
        const m = out.get(key) ?? new Map<string, Judgment>();
        m.set(r.userId, Math.sign(ranks[i] - ranks[j]) as Judgment);
        out.set(key, m);
      }
    }
  }
  return out;
}

/** Fraction of annotator pairs that judged the same response pair the same way (ties count as a judgment). */
export function pairwisePercentAgreement(records: RankingRecord[]): { agreement: number; comparedPairs: number } {
  let agree = 0;
  let total = 0;
  for (const judgments of pairJudgments(records).values()) {
    const js = [...judgments.values()];
    for (let a = 0; a < js.length; a++) {
      for (let b = a + 1; b < js.length; b++) {
        total++;
        if (js[a] === js[b]) agree++;
      }
    }
  }
  return { agreement: total ? agree / total : NaN, comparedPairs: total };
}

/**
 * Per annotator: how often their judgment of a response pair equals the majority judgment of the
 * other annotators of that comparison (pairs where the others have no single most common judgment are
 * left out).
 */
export function majorityAgreement(records: RankingRecord[]): Map<string, { agreement: number; judged: number }> {
  const tallies = new Map<string, { agree: number; judged: number }>();
  for (const judgments of pairJudgments(records).values()) {
    for (const [user, mine] of judgments) {
      const counts = new Map<Judgment, number>();
      for (const [other, j] of judgments) if (other !== user) counts.set(j, (counts.get(j) ?? 0) + 1);
      if (counts.size === 0) continue;
      const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1]);
      if (sorted.length > 1 && sorted[0][1] === sorted[1][1]) continue;
      const t = tallies.get(user) ?? { agree: 0, judged: 0 };
      t.judged++;
      if (sorted[0][0] === mine) t.agree++;
      tallies.set(user, t);
    }
  }
  return new Map([...tallies].map(([u, t]) => [u, { agreement: t.agree / t.judged, judged: t.judged }]));
}

/**
 * Share of annotators of a comparison who agree with a given (chosen, rejected) pair: the agreement
 * filter of the export keeps pairs at or above a threshold.
 */
export function pairSupport(records: RankingRecord[]): (comparisonId: string, chosen: number, rejected: number) => number {
  const judgments = pairJudgments(records);
  return (comparisonId, chosen, rejected) => {
    const [i, j] = chosen < rejected ? [chosen, rejected] : [rejected, chosen];
    const m = judgments.get(`${comparisonId}\u0000${i}\u0000${j}`);
    if (!m || m.size === 0) return NaN;
    const want: Judgment = chosen < rejected ? -1 : 1;
    let n = 0;
    for (const j of m.values()) if (j === want) n++;
    return n / m.size;
  };
}
