// Admin dashboard figures: progress per project and round, throughput and time per item per
// annotator, agreement (Krippendorff's ordinal alpha, pairwise percent agreement, agreement with the
// majority), outbox backlog.
import type { Kysely } from 'kysely';
import type { Database } from '@tuneloop/store';
import { majorityAgreement, pairwisePercentAgreement, rankingAlpha, type RankingRecord } from '../lib/agreement.ts';

export interface RoundProgress { round: number; comparisons: number; completed: number; rankings: number; pairs: number }
export interface AnnotatorStats { userId: string; email: string; rankings: number; lastHour: number; perHour24h: number; medianMs: number | null; p90Ms: number | null; majorityAgreement: number | null; skipped: number }
export interface ProjectDashboard {
  projectId: string; name: string; k: number; annotatorsPerItem: number;
  rounds: RoundProgress[]; annotators: AnnotatorStats[];
  alpha: number | null; pairwiseAgreement: number | null; comparedPairs: number;
  /** histogram of time per item: upper bounds in seconds and counts */
  timeHistogram: { leS: number; count: number }[];
  /** the latest annotator comments (shown as plain text) */
  recentComments: { email: string; comment: string; createdAt: number }[];
}

const quantile = (xs: number[], q: number): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
const BUCKETS_S = [5, 10, 20, 30, 60, 120, 300, Infinity];

export async function projectDashboard(db: Kysely<Database>, projectId: string, now = Date.now()): Promise<ProjectDashboard> {
  const p = await db.selectFrom('projects').selectAll().where('id', '=', projectId).executeTakeFirstOrThrow();
  const comps = await db.selectFrom('comparisons').select(['id', 'round']).where('project_id', '=', projectId).execute();
  const rankings = await db.selectFrom('rankings').innerJoin('users', 'users.id', 'rankings.user_id')
    .select(['rankings.comparison_id', 'rankings.user_id', 'users.email', 'rankings.round', 'rankings.ranking', 'rankings.duration_ms', 'rankings.created_at'])
    .where('rankings.project_id', '=', projectId).execute();
  const pairCounts = await db.selectFrom('preference_pairs').select(['round', (eb) => eb.fn.countAll<number>().as('n')]).where('project_id', '=', projectId).groupBy('round').execute();
  const skips = await db.selectFrom('assignments').select(['user_id', (eb) => eb.fn.countAll<number>().as('n')]).where('project_id', '=', projectId).where('status', '=', 'skipped').groupBy('user_id').execute();

  const perComparison = new Map<string, number>();
  for (const r of rankings) perComparison.set(r.comparison_id, (perComparison.get(r.comparison_id) ?? 0) + 1);
  const rounds = new Map<number, RoundProgress>();
  const roundOf = (n: number) => {
    let r = rounds.get(n);
    if (!r) rounds.set(n, (r = { round: n, comparisons: 0, completed: 0, rankings: 0, pairs: 0 }));
    return r;
  };
  for (const c of comps) {
    const r = roundOf(c.round);
    r.comparisons++;
    if ((perComparison.get(c.id) ?? 0) >= p.annotators_per_item) r.completed++;
  }
  for (const r of rankings) roundOf(r.round).rankings++;
  for (const pc of pairCounts) roundOf(pc.round).pairs = Number(pc.n);

  const records: RankingRecord[] = rankings.map((r) => ({ comparisonId: r.comparison_id, userId: r.user_id, k: p.k, ranking: JSON.parse(r.ranking) }));
  const majority = majorityAgreement(records);
  const pairwise = pairwisePercentAgreement(records);
  const byUser = new Map<string, typeof rankings>();
  for (const r of rankings) byUser.set(r.user_id, [...(byUser.get(r.user_id) ?? []), r]);
  const skipMap = new Map(skips.map((s) => [s.user_id, Number(s.n)]));
  const annotators: AnnotatorStats[] = [...byUser.entries()].map(([userId, rs]) => {
    const durations = rs.map((r) => r.duration_ms).filter((d): d is number => d !== null);
    return {
      userId, email: rs[0].email, rankings: rs.length,
      lastHour: rs.filter((r) => r.created_at > now - 3600_000).length,
      perHour24h: rs.filter((r) => r.created_at > now - 24 * 3600_000).length / 24,
      medianMs: quantile(durations, 0.5), p90Ms: quantile(durations, 0.9),
      majorityAgreement: majority.get(userId)?.agreement ?? null, skipped: skipMap.get(userId) ?? 0,
    };
  }).sort((a, b) => b.rankings - a.rankings);
  const timeHistogram = BUCKETS_S.map((leS) => ({ leS, count: 0 }));
  for (const r of rankings) {
    if (r.duration_ms === null) continue;
    timeHistogram.find((b) => r.duration_ms! / 1000 <= b.leS)!.count++;
  }
  const comments = await db.selectFrom('rankings').innerJoin('users', 'users.id', 'rankings.user_id').select(['users.email', 'rankings.comment', 'rankings.created_at'])
    .where('rankings.project_id', '=', projectId).where('rankings.comment', 'is not', null).orderBy('rankings.created_at', 'desc').limit(20).execute();
  return {
    recentComments: comments.map((c) => ({ email: c.email, comment: c.comment ?? '', createdAt: c.created_at })),
    projectId, name: p.name, k: p.k, annotatorsPerItem: p.annotators_per_item,
    rounds: [...rounds.values()].sort((a, b) => a.round - b.round), annotators,
    alpha: finite(rankingAlpha(records)), pairwiseAgreement: finite(pairwise.agreement), comparedPairs: pairwise.comparedPairs, timeHistogram,
  };
}
