// The assignment queue: each comparison goes to N distinct annotators through leases. A lease is
// claimed by a conditional decrement of comparisons.open_slots inside a transaction (row lock on
// PostgreSQL, a serialised write transaction on SQLite), so two annotators never take the same slot;
// UNIQUE (comparison_id, user_id) means nobody gets a comparison twice. Expired leases return the slot.
import { randomInt, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { AssignmentsTable, Database } from '@tuneloop/store';
import { conflict, notFound } from './errors.ts';
import { candidateOrder, leaseExpiry, randomOrder } from '../lib/lease.ts';
import type { ChatMessage } from '../lib/import-jsonl.ts';

export interface Item {
  assignmentId: string;
  comparisonId: string;
  projectId: string;
  round: number;
  prompt: string | ChatMessage[];
  /** responses in screen order (order[p] is the original index shown at position p) */
  responses: string[];
  order: number[];
  leasedAt: number;
  expiresAt: number;
}

async function toItem(db: Kysely<Database>, a: AssignmentsTable): Promise<Item> {
  const c = await db.selectFrom('comparisons').selectAll().where('id', '=', a.comparison_id).executeTakeFirstOrThrow();
  const order = JSON.parse(a.response_order) as number[];
  const responses = JSON.parse(c.responses) as string[];
  return {
    assignmentId: a.id, comparisonId: c.id, projectId: c.project_id, round: c.round,
    prompt: c.prompt_kind === 'messages' ? (JSON.parse(c.prompt) as ChatMessage[]) : c.prompt,
    responses: order.map((i) => responses[i]), order, leasedAt: a.leased_at, expiresAt: a.expires_at,
  };
}

/** Return abandoned leases of a project to the pool (each exactly once, by a conditional update). */
export async function reapExpiredLeases(db: Kysely<Database>, projectId: string, now = Date.now()): Promise<number> {
  const stale = await db.selectFrom('assignments').select(['id', 'comparison_id']).where('project_id', '=', projectId).where('status', '=', 'leased').where('expires_at', '<=', now).limit(100).execute();
  let returned = 0;
  for (const s of stale) {
    returned += await db.transaction().execute(async (trx) => {
      const r = await trx.updateTable('assignments').set({ status: 'expired', updated_at: now }).where('id', '=', s.id).where('status', '=', 'leased').where('expires_at', '<=', now).executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return 0;
      await trx.updateTable('comparisons').set({ open_slots: sql`open_slots + 1` }).where('id', '=', s.comparison_id).execute();
      return 1;
    });
  }
  return returned;
}

/** K never changes after a project is created: cache it per process. */
const kCache = new Map<string, number>();
/** Reap abandoned leases of a project at most once per second per process. */
const lastReap = new Map<string, number>();
const REAP_EVERY_MS = 1000;

/** The annotator's current lease in the project, or a newly claimed one; null when nothing is left. */
export async function nextItem(db: Kysely<Database>, userId: string, projectId: string, leaseMs: number, now = Date.now()): Promise<Item | null> {
  const held = await db.selectFrom('assignments').selectAll().where('user_id', '=', userId).where('project_id', '=', projectId).where('status', '=', 'leased').where('expires_at', '>', now).orderBy('leased_at', 'desc').executeTakeFirst();
  if (held) return toItem(db, held);
  if (now - (lastReap.get(projectId) ?? -Infinity) >= REAP_EVERY_MS) {
    lastReap.set(projectId, now);
    await reapExpiredLeases(db, projectId, now);
  }
  let k = kCache.get(projectId);
  if (k === undefined) {
    const project = await db.selectFrom('projects').select(['k']).where('id', '=', projectId).executeTakeFirst();
    if (!project) throw notFound(`project ${JSON.stringify(projectId)} not found`);
    kCache.set(projectId, (k = project.k));
  }
  for (let attempt = 0; attempt < 4; attempt++) {
    const candidates = await db
      .selectFrom('comparisons as c')
      .select(['c.id', 'c.open_slots', 'c.created_at'])
      .where('c.project_id', '=', projectId)
      .where('c.open_slots', '>', 0)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('assignments as a').select('a.id').whereRef('a.comparison_id', '=', 'c.id').where('a.user_id', '=', userId))))
      .orderBy('c.open_slots')
      .orderBy('c.created_at')
      .limit(32)
      .execute();
    if (candidates.length === 0) return null;
    for (const c of candidateOrder(candidates, Math.random)) {
      const claimed = await tryClaim(db, c.id, userId, projectId, k, leaseMs, now);
      if (claimed) return toItem(db, claimed);
    }
  }
  return null;
}

async function tryClaim(db: Kysely<Database>, comparisonId: string, userId: string, projectId: string, k: number, leaseMs: number, now: number): Promise<AssignmentsTable | null> {
  try {
    return await db.transaction().execute(async (trx) => {
      const r = await trx.updateTable('comparisons').set({ open_slots: sql`open_slots - 1` }).where('id', '=', comparisonId).where('open_slots', '>', 0).executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return null;
      const row: AssignmentsTable = {
        id: randomUUID(), comparison_id: comparisonId, project_id: projectId, user_id: userId, status: 'leased',
        response_order: JSON.stringify(randomOrder(k, randomInt)), leased_at: now, expires_at: leaseExpiry(now, leaseMs), updated_at: now,
      };
      await trx.insertInto('assignments').values(row).execute();
      return row;
    });
  } catch (err) {
    // The same annotator claimed this comparison concurrently (another tab): the UNIQUE constraint
    // rolled the whole claim back, slot included. Try the next candidate.
    if (/unique|duplicate/i.test((err as Error).message)) return null;
    throw err;
  }
}

/** Give the item back without ranking it; the annotator will not be offered it again. */
export async function skipItem(db: Kysely<Database>, userId: string, assignmentId: string, now = Date.now()): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const a = await trx.selectFrom('assignments').select(['comparison_id', 'status']).where('id', '=', assignmentId).where('user_id', '=', userId).executeTakeFirst();
    if (!a) throw notFound(`assignment ${JSON.stringify(assignmentId)} not found`);
    const r = await trx.updateTable('assignments').set({ status: 'skipped', updated_at: now }).where('id', '=', assignmentId).where('status', 'in', ['leased', 'expired']).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw conflict(`assignment: already ${a.status}`);
    if (a.status === 'leased') await trx.updateTable('comparisons').set({ open_slots: sql`open_slots + 1` }).where('id', '=', a.comparison_id).execute();
  });
}
