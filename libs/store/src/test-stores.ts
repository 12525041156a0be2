// Test helper: a fresh, isolated store per test run on each dialect (a temp SQLite file, or a
// unique PostgreSQL schema at TUNELOOP_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openStore, dropPostgresSchema, type Store, type StoreDialect } from './connect.ts';

export const TEST_PG_URL = process.env.TUNELOOP_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestStore extends Store {
  /** Close and delete everything the test store created. */
  dispose(): Promise<void>;
}

export async function openTestStore(dialect: StoreDialect): Promise<TestStore> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tuneloop-store-'));
    const store = await openStore({ url: path.join(dir, 'test.db') });
    return { ...store, dispose: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
  }
  const schema = `tl_test_${randomBytes(6).toString('hex')}`;
  const store = await openStore({ url: TEST_PG_URL, schema });
  return { ...store, dispose: async () => { await store.close(); await dropPostgresSchema(TEST_PG_URL, schema); } };
}
