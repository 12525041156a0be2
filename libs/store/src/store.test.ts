// The same suite on SQLite and PostgreSQL: migrations, constraints, and the conditional update
// that the labeling app's lease claim relies on.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { sql } from 'kysely';
import { openTestStore, type TestStore } from './test-stores.ts';
import { migrateToLatest } from './migrate.ts';

describe.each(['sqlite', 'postgres'] as const)('store on %s', (dialect) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore(dialect);
  });
  afterAll(async () => {
    await store?.dispose();
  });

  it('migrates once and is idempotent', async () => {
    expect(await migrateToLatest(store.db)).toEqual([]);
    // PostgreSQL introspection lists every schema's tables: keep this store's (other test files migrate their own
    // schemas at the same time).
    const schema = dialect === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(store.db)).rows[0].s : undefined;
    const tables = (await store.db.introspection.getTables()).filter((t) => schema === undefined || t.schema === schema);
    const names = tables.map((t) => t.name).filter((n) => !n.startsWith('kysely_'));
    expect(names.sort()).toEqual(['assignments', 'comparisons', 'outbox', 'preference_pairs', 'projects', 'rankings', 'sessions', 'users']);
  });

  it('enforces unique emails, K in 2..6 and one assignment per (comparison, user)', async () => {
    const now = Date.now();
    await store.db.insertInto('users').values({ id: 'u1', email: 'a@x', password_hash: 'h', role: 'admin', created_at: now }).execute();
    await expect(store.db.insertInto('users').values({ id: 'u2', email: 'a@x', password_hash: 'h', role: 'admin', created_at: now }).execute()).rejects.toThrow();
    await expect(store.db.insertInto('projects').values({ id: 'p0', name: 'x', guidelines: '', annotators_per_item: 1, k: 7, current_round: 1, created_at: now }).execute()).rejects.toThrow();
    await store.db.insertInto('projects').values({ id: 'p1', name: 'x', guidelines: '', annotators_per_item: 1, k: 2, current_round: 1, created_at: now }).execute();
    await store.db.insertInto('comparisons').values({ id: 'c1', project_id: 'p1', round: 1, prompt_kind: 'text', prompt: 'p', responses: '["a","b"]', open_slots: 1, source_line: 1, created_at: now }).execute();
    const a = { comparison_id: 'c1', project_id: 'p1', user_id: 'u1', status: 'leased' as const, response_order: '[0,1]', leased_at: now, expires_at: now + 1, updated_at: now };
    await store.db.insertInto('assignments').values({ id: 'a1', ...a }).execute();
    await expect(store.db.insertInto('assignments').values({ id: 'a2', ...a }).execute()).rejects.toThrow();
  });

  it('a conditional decrement succeeds exactly open_slots times under concurrency', async () => {
    const now = Date.now();
    await store.db.insertInto('comparisons').values({ id: 'c2', project_id: 'p1', round: 1, prompt_kind: 'text', prompt: 'p', responses: '["a","b"]', open_slots: 3, source_line: 2, created_at: now }).execute();
    const attempts = Array.from({ length: 12 }, () =>
      store.db.transaction().execute(async (trx) => {
        const r = await trx.updateTable('comparisons').set({ open_slots: sql`open_slots - 1` }).where('id', '=', 'c2').where('open_slots', '>', 0).executeTakeFirst();
        return Number(r.numUpdatedRows);
      }),
    );
    const won = (await Promise.all(attempts)).reduce((s, x) => s + x, 0);
    expect(won).toBe(3);
    const row = await store.db.selectFrom('comparisons').select('open_slots').where('id', '=', 'c2').executeTakeFirstOrThrow();
    expect(row.open_slots).toBe(0);
  });

  it('stores opened at the same time migrate independently (PostgreSQL: one schema each)', async () => {
    const stores = await Promise.all(Array.from({ length: 4 }, () => openTestStore(dialect)));
    try {
      for (const s of stores) expect(await s.db.selectFrom('projects').select('id').execute()).toEqual([]);
    } finally {
      await Promise.all(stores.map((s) => s.dispose()));
    }
  });

  it('returns bigint timestamps as numbers', async () => {
    const row = await store.db.selectFrom('users').select(['created_at']).where('id', '=', 'u1').executeTakeFirstOrThrow();
    expect(typeof row.created_at).toBe('number');
    const { count } = await store.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
    expect(count).toBe(1);
  });
});
