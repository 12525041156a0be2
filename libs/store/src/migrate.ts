// Migration runner: one ordered list of migrations shared by SQLite and PostgreSQL.
import { Migrator, PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';
import * as m0001 from './migrations/0001-labeling.ts';

export const migrations: Record<string, Migration> = {
  '0001-labeling': m0001,
};

export async function migrateToLatest(db: Kysely<any>): Promise<string[]> { // eslint-disable-line @typescript-eslint/no-explicit-any
  // On PostgreSQL the migrator's own tables are looked up in the current schema (the search_path one): without it,
  // Kysely finds kysely_migration_lock in ANY schema and skips creating it here, so two schemas migrating at once
  // (parallel test files) failed with 'relation "kysely_migration_lock" does not exist'.
  let migrationTableSchema: string | undefined;
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    migrationTableSchema = (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s;
  }
  const migrator = new Migrator({ db, migrationTableSchema, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw new Error(`database migration failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
