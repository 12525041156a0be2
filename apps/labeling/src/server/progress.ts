// Progress shown on the ranking screen: the annotator's rankings in the project and the project's
// completed comparisons (each ranked by N annotators).
import type { Kysely } from 'kysely';
import type { Database } from '@tuneloop/store';

export interface Progress { myRankings: number; completed: number; total: number }

/** Project-wide counts change slowly relative to requests: recomputed at most every 2 s per process. */
const projectCounts = new Map<string, { at: number; completed: number; total: number }>();
const COUNTS_TTL_MS = 2000;

export async function annotatorProgress(db: Kysely<Database>, userId: string, projectId: string, now = Date.now()): Promise<Progress> {
  const mine = await db.selectFrom('rankings').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).where('project_id', '=', projectId).executeTakeFirstOrThrow();
  const cached = projectCounts.get(projectId);
  if (cached && now - cached.at < COUNTS_TTL_MS) return { myRankings: Number(mine.n), completed: cached.completed, total: cached.total };
  const total = await db.selectFrom('comparisons').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow();
  const p = await db.selectFrom('projects').select('annotators_per_item').where('id', '=', projectId).executeTakeFirst();
  const done = await db
    .selectFrom((eb) => eb.selectFrom('rankings').select(['comparison_id', (e) => e.fn.countAll<number>().as('n')]).where('project_id', '=', projectId).groupBy('comparison_id').as('per'))
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('per.n', '>=', p?.annotators_per_item ?? 1)
    .executeTakeFirstOrThrow();
  projectCounts.set(projectId, { at: now, completed: Number(done.n), total: Number(total.n) });
  return { myRankings: Number(mine.n), completed: Number(done.n), total: Number(total.n) };
}

export interface ProjectSummary { comparisons: number; completed: number; rankings: number; pairs: number; pendingEvents: number }

export async function projectSummary(db: Kysely<Database>, projectId: string, annotatorsPerItem: number): Promise<ProjectSummary> {
  const count = async (q: Promise<{ n: number } | undefined>) => Number((await q)?.n ?? 0);
  const comparisons = await count(db.selectFrom('comparisons').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirst());
  const rankings = await count(db.selectFrom('rankings').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirst());
  const pairs = await count(db.selectFrom('preference_pairs').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirst());
  const completed = await count(db
    .selectFrom((eb) => eb.selectFrom('rankings').select(['comparison_id', (e) => e.fn.countAll<number>().as('n')]).where('project_id', '=', projectId).groupBy('comparison_id').as('per'))
    .select((eb) => eb.fn.countAll<number>().as('n')).where('per.n', '>=', annotatorsPerItem).executeTakeFirst());
  const pendingEvents = await count(db.selectFrom('outbox').innerJoin('rankings', 'rankings.id', 'outbox.ranking_id').select((eb) => eb.fn.countAll<number>().as('n')).where('rankings.project_id', '=', projectId).where('outbox.sent_at', 'is', null).executeTakeFirst());
  return { comparisons, completed, rankings, pairs, pendingEvents };
}
