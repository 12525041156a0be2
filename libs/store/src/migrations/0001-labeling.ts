// Migration 0001: the labeling tables. Written with Kysely's schema builder only, so the same
// migration runs on SQLite and PostgreSQL.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin', 'annotator')`))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('projects')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('guidelines', 'text', (c) => c.notNull())
    .addColumn('annotators_per_item', 'integer', (c) => c.notNull())
    .addColumn('k', 'integer', (c) => c.notNull().check(sql`k between 2 and 6`))
    .addColumn('current_round', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('comparisons')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('round', 'integer', (c) => c.notNull())
    .addColumn('prompt_kind', 'text', (c) => c.notNull())
    .addColumn('prompt', 'text', (c) => c.notNull())
    .addColumn('responses', 'text', (c) => c.notNull())
    .addColumn('open_slots', 'integer', (c) => c.notNull().check(sql`open_slots >= 0`))
    .addColumn('source_line', 'integer')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('comparisons_pool').on('comparisons').columns(['project_id', 'open_slots', 'created_at']).execute();

  await db.schema
    .createTable('assignments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('comparison_id', 'text', (c) => c.notNull().references('comparisons.id').onDelete('cascade'))
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('response_order', 'text', (c) => c.notNull())
    .addColumn('leased_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    // An annotator never gets the same comparison twice.
    .addUniqueConstraint('assignments_once_per_user', ['comparison_id', 'user_id'])
    .execute();
  await db.schema.createIndex('assignments_user').on('assignments').columns(['user_id', 'project_id', 'status']).execute();
  await db.schema.createIndex('assignments_status').on('assignments').columns(['status', 'expires_at']).execute();

  await db.schema
    .createTable('rankings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('assignment_id', 'text', (c) => c.notNull().unique())
    .addColumn('comparison_id', 'text', (c) => c.notNull())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('round', 'integer', (c) => c.notNull())
    .addColumn('ranking', 'text', (c) => c.notNull())
    .addColumn('both_bad', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('strength', 'text')
    .addColumn('comment', 'text')
    .addColumn('response_order', 'text', (c) => c.notNull())
    .addColumn('duration_ms', 'integer')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rankings_project').on('rankings').columns(['project_id', 'round']).execute();
  await db.schema.createIndex('rankings_user').on('rankings').columns(['user_id', 'created_at']).execute();

  await db.schema
    .createTable('preference_pairs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('ranking_id', 'text', (c) => c.notNull().references('rankings.id').onDelete('cascade'))
    .addColumn('comparison_id', 'text', (c) => c.notNull())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('round', 'integer', (c) => c.notNull())
    .addColumn('chosen_index', 'integer', (c) => c.notNull())
    .addColumn('rejected_index', 'integer', (c) => c.notNull())
    .addColumn('margin', 'double precision')
    .addColumn('strength', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('pairs_project').on('preference_pairs').columns(['project_id', 'round']).execute();

  await db.schema
    .createTable('outbox')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('ranking_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('available_at', 'bigint', (c) => c.notNull())
    .addColumn('sent_at', 'bigint')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .execute();
  await db.schema.createIndex('outbox_pending').on('outbox').columns(['sent_at', 'available_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['outbox', 'preference_pairs', 'rankings', 'assignments', 'comparisons', 'projects', 'sessions', 'users']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
