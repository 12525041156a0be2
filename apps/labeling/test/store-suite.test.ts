// The labeling service layer against a real database: the same suite on SQLite and PostgreSQL
// (accounts, rate limit, projects, import, leases under concurrency, submit/undo/skip, export,
// dashboard), plus the outbox relay against the real NATS server while it is unreachable and back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, type TestStore } from '@tuneloop/store';
import { Authenticator, createUser, ensureFirstAdmin, type SessionUser } from '../src/server/accounts.ts';
import { createProject, importComparisons, type Project } from '../src/server/projects.ts';
import { nextItem, skipItem } from '../src/server/assignment.ts';
import { submitRanking, undoLastRanking } from '../src/server/submissions.ts';
import { exportPairs, renderExport } from '../src/server/export.ts';
import { projectDashboard } from '../src/server/dashboard.ts';
import { OutboxRelay, pendingOutbox } from '../src/server/outbox-relay.ts';
import { AppError } from '../src/server/errors.ts';
import { closedPort, dropBusPrefix, NATS_URL, readEvents, testBusPrefix } from './nats-helpers.ts';

const LEASE = 60_000;
const OPTS = { undoGraceMs: 5_000, leaseMs: LEASE };
const jsonl = (n: number, k: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `prompt ${i}`, responses: Array.from({ length: k }, (_, j) => `r${i}.${j}`) })).join('\n');
const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: AppError) => e.code);

describe.each(['sqlite', 'postgres'] as const)('labeling store suite on %s', (dialect) => {
  let store: TestStore;
  let users: SessionUser[];
  const prefix = testBusPrefix();
  beforeAll(async () => {
    store = await openTestStore(dialect);
    users = [];
    for (let i = 0; i < 20; i++) users.push(await createUser(store.db, `a${i}@test.dev`, 'password-123', 'annotator'));
  });
  afterAll(async () => {
    await store?.dispose();
    await dropBusPrefix(prefix).catch(() => undefined);
  });

  it('accounts: first admin from env once, duplicate e-mail refused, sign-in rate-limited', async () => {
    expect((await ensureFirstAdmin(store.db, 'Boss@Test.dev', 'admin-password-1'))?.role).toBe('admin');
    expect(await ensureFirstAdmin(store.db, 'other@test.dev', 'admin-password-1')).toBeNull();
    expect(await code(createUser(store.db, 'boss@test.dev', 'admin-password-1', 'annotator'))).toBe('CONFLICT');
    expect(await code(createUser(store.db, 'x@test.dev', 'short', 'annotator'))).toBe('INVALID_ARGUMENT');
    const auth = new Authenticator(store.db, 3);
    const { token, session } = await auth.signIn('boss@test.dev', 'admin-password-1', '1.2.3.4');
    expect(session.user.role).toBe('admin');
    expect((await auth.lookup(token))?.csrfToken).toBe(session.csrfToken);
    const row = await store.db.selectFrom('sessions').select('id').executeTakeFirstOrThrow();
    expect(row.id).not.toBe(token);
    for (let i = 0; i < 3; i++) expect(await code(auth.signIn('boss@test.dev', 'wrong-password', '5.6.7.8'))).toBe('UNAUTHENTICATED');
    expect(await code(auth.signIn('boss@test.dev', 'admin-password-1', '5.6.7.8'))).toBe('RESOURCE_EXHAUSTED');
    await auth.signOut(token);
    expect(await auth.lookup(token)).toBeNull();
  });

  it('projects: validation names the field; import is all-or-nothing with line numbers', async () => {
    expect(await code(createProject(store.db, { name: 'x', annotatorsPerItem: 1, k: 7 }))).toBe('INVALID_ARGUMENT');
    const p = await createProject(store.db, { name: 'bad import', annotatorsPerItem: 1, k: 2 });
    const err = await importComparisons(store.db, p.id, `${jsonl(2, 2)}\n{"prompt":"x","responses":["a"]}`).catch((e: AppError) => e);
    expect((err as AppError).details?.errors).toEqual(["line 3: responses: must have 2 items (the project's K), got 1"]);
    expect((await store.db.selectFrom('comparisons').select('id').where('project_id', '=', p.id).execute()).length).toBe(0);
  });

  it('leases: concurrent annotators never share a slot, nobody gets a comparison twice', async () => {
    const p = await createProject(store.db, { name: 'race', annotatorsPerItem: 1, k: 2 });
    await importComparisons(store.db, p.id, jsonl(15, 2));
    const got = await Promise.all(users.map((u) => nextItem(store.db, u.id, p.id, LEASE)));
    const leased = got.filter((x) => x !== null).map((x) => x!.comparisonId);
    expect(leased).toHaveLength(15);
    expect(new Set(leased).size).toBe(15);
    const p2 = await createProject(store.db, { name: 'race n=3', annotatorsPerItem: 3, k: 3 });
    await importComparisons(store.db, p2.id, jsonl(5, 3));
    const seen = new Map<string, Set<string>>();
    // 20 annotators, each asking concurrently, rank until nothing is left: 5 x 3 = 15 rankings.
    await Promise.all(users.map(async (u) => {
      for (;;) {
        const item = await nextItem(store.db, u.id, p2.id, LEASE);
        if (!item) return;
        const s = seen.get(item.comparisonId) ?? new Set();
        expect(s.has(u.id)).toBe(false);
        seen.set(item.comparisonId, s.add(u.id));
        await submitRanking(store.db, u.id, { assignmentId: item.assignmentId, ranking: [[0], [1], [2]] }, OPTS);
      }
    }));
    expect([...seen.values()].map((s) => s.size)).toEqual([3, 3, 3, 3, 3]);
  });

  it('an abandoned lease returns to the pool; a late submit succeeds only while a slot is free', async () => {
    const p = await createProject(store.db, { name: 'expiry', annotatorsPerItem: 1, k: 2 });
    await importComparisons(store.db, p.id, jsonl(1, 2));
    const t0 = Date.now();
    const a = (await nextItem(store.db, users[0].id, p.id, LEASE, t0))!;
    expect(await nextItem(store.db, users[1].id, p.id, LEASE, t0 + 1000)).toBeNull();
    const b = (await nextItem(store.db, users[1].id, p.id, LEASE, t0 + LEASE + 1))!;
    expect(b.comparisonId).toBe(a.comparisonId);
    expect(await code(submitRanking(store.db, users[0].id, { assignmentId: a.assignmentId, ranking: [[0], [1]] }, OPTS))).toBe('CONFLICT');
    await skipItem(store.db, users[1].id, b.assignmentId);
    expect((await submitRanking(store.db, users[0].id, { assignmentId: a.assignmentId, ranking: [[1], [0]] }, OPTS)).pairs).toBe(1);
  });

  let project: Project;
  it('submit stores K(K-1)/2 pairs and outbox rows; undo within the grace window; skip', async () => {
    project = await createProject(store.db, { name: 'flow', annotatorsPerItem: 2, k: 4 });
    await importComparisons(store.db, project.id, jsonl(3, 4) + '\n' + JSON.stringify({ messages: [{ role: 'user', content: 'chat?' }], responses: ['m0', 'm1', 'm2', 'm3'] }));
    const [u, v] = users;
    const now = Date.now();
    const item = (await nextItem(store.db, u.id, project.id, LEASE, now))!;
    expect(item.responses).toHaveLength(4);
    expect(await code(submitRanking(store.db, u.id, { assignmentId: item.assignmentId, ranking: [[0], [0]] }, OPTS))).toBe('INVALID_ARGUMENT');
    expect(await code(submitRanking(store.db, v.id, { assignmentId: item.assignmentId, ranking: [[0], [1], [2], [3]] }, OPTS))).toBe('NOT_FOUND');
    const r = await submitRanking(store.db, u.id, { assignmentId: item.assignmentId, ranking: [[3], [2], [1], [0]], strength: 'much', comment: "x'); DROP TABLE users;--" }, OPTS, now);
    expect(r.pairs).toBe(6);
    const pairs = await store.db.selectFrom('preference_pairs').selectAll().where('ranking_id', '=', r.rankingId).execute();
    // Screen position p showed response order[p]; position 3 was ranked best.
    expect(pairs.filter((x) => x.chosen_index === item.order[3])).toHaveLength(3);
    expect(pairs.every((x) => x.margin === 1 && x.round === 1)).toBe(true);
    expect(await store.db.selectFrom('outbox').select('id').where('ranking_id', '=', r.rankingId).execute()).toHaveLength(6);
    expect(await code(submitRanking(store.db, u.id, { assignmentId: item.assignmentId, ranking: [[0], [1], [2], [3]] }, OPTS))).toBe('CONFLICT');
    // Undo: the pairs and unsent outbox rows go, the same item (same order) comes back.
    await undoLastRanking(store.db, u.id, project.id, OPTS, now + 1000);
    expect(await store.db.selectFrom('preference_pairs').select('id').where('ranking_id', '=', r.rankingId).execute()).toHaveLength(0);
    expect(await store.db.selectFrom('outbox').select('id').where('ranking_id', '=', r.rankingId).execute()).toHaveLength(0);
    const again = (await nextItem(store.db, u.id, project.id, LEASE, now + 1500))!;
    expect(again.assignmentId).toBe(item.assignmentId);
    expect(again.order).toEqual(item.order);
    await submitRanking(store.db, u.id, { assignmentId: again.assignmentId, ranking: [[0], [1], [2], [3]] }, OPTS, now + 2000);
    expect(await code(undoLastRanking(store.db, u.id, project.id, OPTS, now + 2000 + OPTS.undoGraceMs))).toBe('CONFLICT');
    // Skip: never offered again to this annotator.
    const s = (await nextItem(store.db, u.id, project.id, LEASE))!;
    await skipItem(store.db, u.id, s.assignmentId);
    const rest: string[] = [];
    for (let it = await nextItem(store.db, u.id, project.id, LEASE); it; it = await nextItem(store.db, u.id, project.id, LEASE)) {
      rest.push(it.comparisonId);
      await submitRanking(store.db, u.id, { assignmentId: it.assignmentId, ranking: [[0, 1], [2], [3]] }, OPTS);
    }
    expect(rest).not.toContain(s.comparisonId);
    expect(rest).not.toContain(item.comparisonId);
    expect(rest).toHaveLength(2);
    // A second annotator ranks everything the same way in original indices: [[0],[1],[2],[3]].
    for (let it = await nextItem(store.db, v.id, project.id, LEASE); it; it = await nextItem(store.db, v.id, project.id, LEASE)) {
      const positions = [0, 1, 2, 3].map((orig) => [it!.order.indexOf(orig)]);
      await submitRanking(store.db, v.id, { assignmentId: it.assignmentId, ranking: positions }, OPTS);
    }
  });

  it('export: TRL JSONL (standard and conversational) and CSV, filtered by agreement', async () => {
    const all = await exportPairs(store.db, { projectId: project.id });
    // u: 6 + 2 x 5 (a tie removes 1 of 6 pairs); v: 4 x 6.
    expect(all).toHaveLength(6 + 10 + 24);
    const lines = renderExport(all, 'jsonl').trim().split('\n').map((l) => JSON.parse(l));
    expect(Object.keys(lines[0]).sort()).toEqual(['chosen', 'prompt', 'rejected']);
    const chat = lines.find((l) => Array.isArray(l.prompt));
    expect(chat.prompt).toEqual([{ role: 'user', content: 'chat?' }]);
    expect(chat.chosen).toEqual([{ role: 'assistant', content: expect.stringMatching(/^m\d$/) }]);
    const agreed = await exportPairs(store.db, { projectId: project.id, minAgreement: 1 });
    expect(agreed.length).toBeGreaterThan(0);
    expect(agreed.length).toBeLessThan(all.length);
    expect(agreed.every((p) => p.agreement === 1)).toBe(true);
    const csv = renderExport(all, 'csv');
    expect(csv.split('\r\n')[0]).toMatch(/^pair_id,project_id,round/);
    expect(await exportPairs(store.db, { projectId: project.id, round: 2 })).toHaveLength(0);
  });

  it('dashboard: progress per round, per-annotator throughput and agreement', async () => {
    const d = await projectDashboard(store.db, project.id);
    expect(d.rounds).toEqual([{ round: 1, comparisons: 4, completed: 3, rankings: 7, pairs: 40 }]);
    expect(d.annotators.map((a) => a.rankings).sort()).toEqual([3, 4]);
    expect(d.annotators.find((a) => a.userId === users[0].id)?.skipped).toBe(1);
    expect(d.alpha).not.toBeNull();
    expect(d.pairwiseAgreement).toBeGreaterThan(0);
  });

  it('outbox: annotators submit while NATS is unreachable; once it is back each event arrives exactly once', async () => {
    const due = Date.now() + 60_000;
    // The relay runs (and keeps failing) against a closed port while five annotators submit.
    const down = new OutboxRelay(store.db, { url: `nats://127.0.0.1:${await closedPort()}`, prefix, intervalMs: 50 });
    down.start();
    const p = await createProject(store.db, { name: 'while down', annotatorsPerItem: 5, k: 3 });
    await importComparisons(store.db, p.id, jsonl(2, 3));
    await Promise.all(users.slice(0, 5).map(async (u) => {
      for (let it = await nextItem(store.db, u.id, p.id, LEASE); it; it = await nextItem(store.db, u.id, p.id, LEASE)) {
        await submitRanking(store.db, u.id, { assignmentId: it.assignmentId, ranking: [[2], [0], [1]] }, { undoGraceMs: 0 });
      }
    }));
    expect((await down.tick(due)).error).toMatch(/cannot connect/);
    await down.stop();
    expect(await store.db.selectFrom('rankings').select('id').where('project_id', '=', p.id).execute()).toHaveLength(10);
    const pending = await pendingOutbox(store.db);
    expect(pending).toBeGreaterThanOrEqual(10 * 3);
    expect(await store.db.selectFrom('outbox').select('id').where('sent_at', 'is not', null).execute()).toHaveLength(0);
    // Pointed at the real server, the relay sends everything in batches.
    const up = new OutboxRelay(store.db, { url: NATS_URL, prefix, batch: 7 });
    expect((await up.tick(due)).sent).toBe(pending);
    expect(await pendingOutbox(store.db)).toBe(0);
    // A crash between PubAck and marking sent: the rows go out again and JetStream drops them.
    await store.db.updateTable('outbox').set({ sent_at: null }).execute();
    expect((await up.tick(due)).sent).toBe(pending);
    await up.stop();
    const events = await readEvents(prefix);
    expect(events).toHaveLength(pending);
    const ids = await store.db.selectFrom('outbox').select('id').execute();
    expect(new Set(events.map((e) => e.msgId))).toEqual(new Set(ids.map((r) => r.id)));
    expect(events.every((e) => e.data.pairId === e.msgId && e.subject.endsWith('events.preference.created'))).toBe(true);
  });
});
