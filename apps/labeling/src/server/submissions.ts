// Submitting a ranking: in one transaction the lease is closed, the ranking and its K(K-1)/2
// preference pairs are stored, and one outbox row per pair is written (transactional outbox; the
// relay publishes them after the undo grace window). Undo removes the last ranking while its rows
// are unpublished and hands the item back to the annotator.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '@tuneloop/store';
import type { PayloadIn } from '@tuneloop/bus';
import { AppError, conflict, invalid, notFound } from './errors.ts';
import { pairsFromRanking, positionsToIndices, validateRanking, type Strength } from '../lib/ranking.ts';
import { leaseExpiry } from '../lib/lease.ts';

export const PREFERENCE_SUBJECT = 'events.preference.created';

export interface SubmitInput {
  assignmentId: unknown;
  /** groups of screen positions, best first */
  ranking: unknown;
  bothBad?: unknown;
  strength?: unknown;
  comment?: unknown;
  durationMs?: unknown;
}

export interface SubmitOptions { undoGraceMs: number }

export async function submitRanking(db: Kysely<Database>, userId: string, input: SubmitInput, opts: SubmitOptions, now = Date.now()): Promise<{ rankingId: string; pairs: number }> {
  if (typeof input.assignmentId !== 'string') throw invalid('assignmentId: must be a string');
  const strength = input.strength ?? null;
  if (strength !== null && strength !== 'slightly' && strength !== 'much') throw invalid(`strength: must be "slightly", "much" or null, got ${JSON.stringify(strength)}`);
  const comment = input.comment === undefined || input.comment === null || input.comment === '' ? null : input.comment;
  if (comment !== null && (typeof comment !== 'string' || comment.length > 10_000)) throw invalid('comment: must be text of at most 10000 characters');
  const bothBad = input.bothBad === true;
  const duration = input.durationMs === undefined || input.durationMs === null ? null : Number(input.durationMs);
  if (duration !== null && (!Number.isFinite(duration) || duration < 0)) throw invalid(`durationMs: must be a number >= 0, got ${JSON.stringify(input.durationMs)}`);
  const assignmentId = input.assignmentId;

  return db.transaction().execute(async (trx) => {
    const a = await trx.selectFrom('assignments').selectAll().where('id', '=', assignmentId).where('user_id', '=', userId).executeTakeFirst();
    if (!a) throw notFound(`assignment ${JSON.stringify(assignmentId)} not found`);
    if (a.status === 'submitted' || a.status === 'skipped') throw conflict(`assignment: already ${a.status}`);
    if (a.status === 'expired') {
      // The lease ran out and its slot went back to the pool: take a slot again if one is free.
      const r = await trx.updateTable('comparisons').set({ open_slots: sql`open_slots - 1` }).where('id', '=', a.comparison_id).where('open_slots', '>', 0).executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw conflict('assignment: the lease expired and the item went to other annotators');
    }
    const closed = await trx.updateTable('assignments').set({ status: 'submitted', updated_at: now }).where('id', '=', a.id).where('status', '=', a.status).executeTakeFirst();
    if (Number(closed.numUpdatedRows) !== 1) throw conflict('assignment: changed concurrently, reload');
    const c = await trx.selectFrom('comparisons').selectAll().where('id', '=', a.comparison_id).executeTakeFirstOrThrow();
    const order = JSON.parse(a.response_order) as number[];
    let ranking;
    try {
      ranking = positionsToIndices(validateRanking(input.ranking, order.length), order);
    } catch (err) {
      throw invalid((err as Error).message);
    }
    if (bothBad && ranking.length !== 1) throw invalid('bothBad: only with a ranking that ties every response');
    const rankingId = randomUUID();
    await trx.insertInto('rankings').values({
      id: rankingId, assignment_id: a.id, comparison_id: c.id, project_id: c.project_id, user_id: userId, round: c.round,
      ranking: JSON.stringify(ranking), both_bad: bothBad ? 1 : 0, strength: strength as Strength | null, comment: comment as string | null,
      response_order: a.response_order, duration_ms: duration === null ? null : Math.round(duration), created_at: now,
    }).execute();
    const pairs = pairsFromRanking(ranking, strength as Strength | null);
    if (pairs.length) {
      const responses = JSON.parse(c.responses) as string[];
      const rows = pairs.map((p) => ({
        id: randomUUID(), ranking_id: rankingId, comparison_id: c.id, project_id: c.project_id, user_id: userId, round: c.round,
        chosen_index: p.chosen, rejected_index: p.rejected, margin: p.margin, strength: strength as Strength | null, created_at: now,
      }));
      await trx.insertInto('preference_pairs').values(rows).execute();
      const createdAt = new Date(now).toISOString();
      await trx.insertInto('outbox').values(rows.map((r) => {
        const payload: PayloadIn<'events.preference.created'> = {
          pairId: r.id, projectId: c.project_id, roundId: String(c.round), prompt: c.prompt,
          chosen: responses[r.chosen_index], rejected: responses[r.rejected_index], annotatorId: userId,
          ...(r.margin === null ? {} : { strength: r.margin }), createdAt,
        };
        // The outbox row id is the pair id: the NATS dedup id of its event.
        return { id: r.id, subject: PREFERENCE_SUBJECT, payload: JSON.stringify(payload), ranking_id: rankingId, created_at: now, available_at: now + opts.undoGraceMs, sent_at: null, attempts: 0, last_error: null };
      })).execute();
    }
    return { rankingId, pairs: pairs.length };
  });
}

/**
 * Undo the annotator's last ranking in a project, allowed while its events are unpublished (inside
 * the undo grace window, less a second of safety before the relay may pick the rows up).
 */
export async function undoLastRanking(db: Kysely<Database>, userId: string, projectId: string, opts: SubmitOptions & { leaseMs: number }, now = Date.now()): Promise<{ assignmentId: string }> {
  return db.transaction().execute(async (trx) => {
    const last = await trx.selectFrom('rankings').select(['id', 'assignment_id', 'created_at']).where('user_id', '=', userId).where('project_id', '=', projectId).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    if (!last) throw notFound('undo: you have no ranking in this project');
    if (now > last.created_at + opts.undoGraceMs - 1000) throw new AppError('CONFLICT', `undo: only within ${Math.round(opts.undoGraceMs / 1000)} s of submitting; this ranking is already final`);
    const sent = await trx.selectFrom('outbox').select('id').where('ranking_id', '=', last.id).where('sent_at', 'is not', null).executeTakeFirst();
    if (sent) throw conflict('undo: this ranking was already published');
    await trx.deleteFrom('outbox').where('ranking_id', '=', last.id).where('sent_at', 'is', null).execute();
    await trx.deleteFrom('preference_pairs').where('ranking_id', '=', last.id).execute();
    await trx.deleteFrom('rankings').where('id', '=', last.id).execute();
    const r = await trx.updateTable('assignments').set({ status: 'leased', leased_at: now, expires_at: leaseExpiry(now, opts.leaseMs), updated_at: now }).where('id', '=', last.assignment_id).where('status', '=', 'submitted').executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw conflict('undo: the assignment changed concurrently');
    return { assignmentId: last.assignment_id };
  });
}
