// Migration runner: one ordered list of migrations shared by SQLite and PostgreSQL.
import { Migrator, type Kysely, type Migration } from 'kysely';
import * as m0001 from './migrations/0001-labeling.ts';

export const migrations: Record<string, Migration> = {
  '0001-labeling': m0001,
};

export async function migrateToLatest(db: Kysely<any>): Promise<string[]> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw new Error(`database migration failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
