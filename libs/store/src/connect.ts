// Open the tuneloop database: SQLite (better-sqlite3, WAL, file under TUNELOOP_HOME) by default,
// PostgreSQL (pg) when TUNELOOP_DATABASE_URL is a postgres:// URL. Runs the migrations on open.
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Database } from './schema.ts';
import { migrateToLatest } from './migrate.ts';

export type StoreDialect = 'sqlite' | 'postgres';

export interface StoreOptions {
  /** postgres://... or postgresql://... for PostgreSQL; a file path or sqlite:<path> for SQLite. */
  url?: string;
  /** Data directory for the default SQLite file (TUNELOOP_HOME, default ./.tuneloop). */
  home?: string;
  /** PostgreSQL only: schema to use (created if missing); isolates tests. */
  schema?: string;
  /** Run migrations on open (default true). */
  migrate?: boolean;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
}

export interface Store {
  db: Kysely<Database>;
  dialect: StoreDialect;
  /** Where the data lives (file path, or the URL without password). */
  location: string;
  close(): Promise<void>;
}

const PG_INT8_OID = 20;

/** Resolve the store options from the environment (TUNELOOP_DATABASE_URL, TUNELOOP_HOME). */
export function storeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): StoreOptions {
  return { url: env.TUNELOOP_DATABASE_URL || undefined, home: env.TUNELOOP_HOME || '.tuneloop' };
}

export function isPostgresUrl(url: string | undefined): boolean {
  return !!url && /^postgres(ql)?:\/\//i.test(url);
}

export async function openStore(opts: StoreOptions = storeOptionsFromEnv()): Promise<Store> {
  let store: Store;
  if (isPostgresUrl(opts.url)) {
    store = await openPostgres(opts.url as string, opts);
  } else {
    if (opts.schema) throw new Error('schema: only supported for PostgreSQL');
    const file = opts.url ? opts.url.replace(/^sqlite:/, '') : path.join(opts.home ?? '.tuneloop', 'tuneloop.db');
    store = await openSqlite(file);
  }
  if (opts.migrate !== false) await migrateToLatest(store.db);
  return store;
}

async function openSqlite(file: string): Promise<Store> {
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const database = new BetterSqlite3(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return { db, dialect: 'sqlite', location: file, close: () => db.destroy() };
}

async function openPostgres(url: string, opts: StoreOptions): Promise<Store> {
  const pg = (await import('pg')).default;
  const schema = opts.schema;
  if (schema && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`schema: must match [a-z_][a-z0-9_]{0,62}, got ${JSON.stringify(schema)}`);
  }
  if (schema) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`create schema if not exists ${schema}`);
    } finally {
      await client.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    options: schema ? `-c search_path=${schema}` : undefined,
    // bigint columns (epoch ms, counts) come back as JS numbers: all of ours fit in 2^53.
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === PG_INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser },
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await sql`select 1`.execute(db);
  return { db, dialect: 'postgres', location: url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@'), close: () => db.destroy() };
}

/** PostgreSQL only: drop a schema created for a test run. */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`schema: invalid name ${JSON.stringify(schema)}`);
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${schema} cascade`);
  } finally {
    await client.end();
  }
}
