// Projects (name, Markdown guidelines, annotators per comparison, K) and the JSONL import of their
// comparisons (all or nothing, in one transaction).
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database, ProjectsTable } from '@tuneloop/store';
import { invalid, notFound } from './errors.ts';
import { ImportError, parseComparisonsJsonl } from '../lib/import-jsonl.ts';

export interface ProjectInput { name: unknown; guidelines?: unknown; annotatorsPerItem: unknown; k: unknown }
export interface Project { id: string; name: string; guidelines: string; annotatorsPerItem: number; k: number; currentRound: number; createdAt: number }

export const toProject = (r: ProjectsTable): Project => ({
  id: r.id, name: r.name, guidelines: r.guidelines, annotatorsPerItem: r.annotators_per_item, k: r.k, currentRound: r.current_round, createdAt: r.created_at,
});

export function validateProjectInput(input: ProjectInput): { name: string; guidelines: string; annotatorsPerItem: number; k: number } {
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name.length < 1 || name.length > 200) throw invalid('name: must be 1 to 200 characters');
  const guidelines = input.guidelines === undefined ? '' : input.guidelines;
  if (typeof guidelines !== 'string' || guidelines.length > 100_000) throw invalid('guidelines: must be Markdown text of at most 100000 characters');
  const n = Number(input.annotatorsPerItem);
  if (!Number.isInteger(n) || n < 1 || n > 50) throw invalid(`annotatorsPerItem: must be an integer in 1..50, got ${JSON.stringify(input.annotatorsPerItem)}`);
  const k = Number(input.k);
  if (!Number.isInteger(k) || k < 2 || k > 6) throw invalid(`k: must be an integer in 2..6, got ${JSON.stringify(input.k)}`);
  return { name, guidelines, annotatorsPerItem: n, k };
}

export async function createProject(db: Kysely<Database>, input: ProjectInput): Promise<Project> {
  const v = validateProjectInput(input);
  const row: ProjectsTable = { id: randomUUID(), name: v.name, guidelines: v.guidelines, annotators_per_item: v.annotatorsPerItem, k: v.k, current_round: 1, created_at: Date.now() };
  await db.insertInto('projects').values(row).execute();
  return toProject(row);
}

export async function getProject(db: Kysely<Database>, id: string): Promise<Project> {
  const row = await db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound(`project ${JSON.stringify(id)} not found`);
  return toProject(row);
}

export async function listProjects(db: Kysely<Database>): Promise<Project[]> {
  return (await db.selectFrom('projects').selectAll().orderBy('created_at', 'desc').execute()).map(toProject);
}

/** Start the next round: new imports default to it, and exports / the dashboard can filter by it. */
export async function startNextRound(db: Kysely<Database>, id: string): Promise<Project> {
  const p = await getProject(db, id);
  await db.updateTable('projects').set({ current_round: p.currentRound + 1 }).where('id', '=', id).where('current_round', '=', p.currentRound).execute();
  return getProject(db, id);
}

export async function importComparisons(db: Kysely<Database>, projectId: string, jsonl: unknown): Promise<{ imported: number; rounds: number[] }> {
  if (typeof jsonl !== 'string') throw invalid('file: must be JSONL text');
  if (jsonl.length > 50 * 1024 * 1024) throw invalid(`file: at most 50 MiB, got ${(jsonl.length / 1048576).toFixed(1)} MiB`);
  const project = await getProject(db, projectId);
  let items;
  try {
    items = parseComparisonsJsonl(jsonl, project.k);
  } catch (err) {
    if (err instanceof ImportError) throw invalid(`import rejected: ${err.errors.length} problem(s); first: ${err.errors[0]}`, err.errors);
    throw err;
  }
  const now = Date.now();
  const rows = items.map((it, i) => ({
    id: randomUUID(),
    project_id: projectId,
    round: it.round ?? project.currentRound,
    prompt_kind: it.promptKind,
    prompt: typeof it.prompt === 'string' ? it.prompt : JSON.stringify(it.prompt),
    responses: JSON.stringify(it.responses),
    open_slots: project.annotatorsPerItem,
    source_line: it.line,
    created_at: now + i,
  }));
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += 200) await trx.insertInto('comparisons').values(rows.slice(i, i + 200)).execute();
  });
  // Refresh the planner statistics (same statement on SQLite and PostgreSQL): right after a bulk
  // import PostgreSQL would otherwise plan the queue query for an empty table.
  await sql`analyze comparisons`.execute(db);
  return { imported: rows.length, rounds: [...new Set(rows.map((r) => r.round))].sort((a, b) => a - b) };
}
