// Export of preference pairs: TRL JSONL (standard {prompt, chosen, rejected} for text prompts; the
// conversational form with message lists for chat prompts) or CSV, filtered by project, round and
// agreement (share of the comparison's annotators who agree with the pair).
import type { Kysely } from 'kysely';
import type { Database } from '@tuneloop/store';
import { invalid } from './errors.ts';
import { pairSupport, type RankingRecord } from '../lib/agreement.ts';
import { toCsv } from '../lib/csv.ts';
import type { ChatMessage } from '../lib/import-jsonl.ts';

export interface ExportFilter { projectId: string; round?: number; minAgreement?: number }
export type ExportFormat = 'jsonl' | 'csv';

export interface ExportedPair {
  pairId: string; projectId: string; comparisonId: string; round: number; annotatorId: string; annotatorEmail: string;
  promptKind: 'text' | 'messages'; prompt: string | ChatMessage[]; chosen: string; rejected: string;
  chosenIndex: number; rejectedIndex: number; margin: number | null; strength: string | null; agreement: number; createdAt: number;
}

export function parseExportFilter(q: { projectId?: unknown; round?: unknown; minAgreement?: unknown }): ExportFilter {
  if (typeof q.projectId !== 'string' || !q.projectId) throw invalid('projectId: required');
  const f: ExportFilter = { projectId: q.projectId };
  if (q.round !== undefined && q.round !== null && q.round !== '') {
    const r = Number(q.round);
    if (!Number.isInteger(r) || r < 1) throw invalid(`round: must be an integer >= 1, got ${JSON.stringify(q.round)}`);
    f.round = r;
  }
  if (q.minAgreement !== undefined && q.minAgreement !== null && q.minAgreement !== '') {
    const a = Number(q.minAgreement);
    if (!(a >= 0 && a <= 1)) throw invalid(`minAgreement: must be a number in 0..1, got ${JSON.stringify(q.minAgreement)}`);
    f.minAgreement = a;
  }
  return f;
}

export async function exportPairs(db: Kysely<Database>, f: ExportFilter): Promise<ExportedPair[]> {
  let rq = db.selectFrom('rankings').innerJoin('projects', 'projects.id', 'rankings.project_id').select(['rankings.comparison_id', 'rankings.user_id', 'rankings.ranking', 'projects.k']).where('rankings.project_id', '=', f.projectId);
  if (f.round !== undefined) rq = rq.where('rankings.round', '=', f.round);
  const records: RankingRecord[] = (await rq.execute()).map((r) => ({ comparisonId: r.comparison_id, userId: r.user_id, k: r.k, ranking: JSON.parse(r.ranking) }));
  const support = pairSupport(records);
  let q = db
    .selectFrom('preference_pairs as p')
    .innerJoin('comparisons as c', 'c.id', 'p.comparison_id')
    .innerJoin('users as u', 'u.id', 'p.user_id')
    .select(['p.id', 'p.project_id', 'p.comparison_id', 'p.round', 'p.user_id', 'u.email', 'c.prompt_kind', 'c.prompt', 'c.responses', 'p.chosen_index', 'p.rejected_index', 'p.margin', 'p.strength', 'p.created_at'])
    .where('p.project_id', '=', f.projectId);
  if (f.round !== undefined) q = q.where('p.round', '=', f.round);
  const rows = await q.orderBy('p.created_at').orderBy('p.id').execute();
  const out: ExportedPair[] = [];
  for (const r of rows) {
    const agreement = support(r.comparison_id, r.chosen_index, r.rejected_index);
    if (f.minAgreement !== undefined && !(agreement >= f.minAgreement)) continue;
    const responses = JSON.parse(r.responses) as string[];
    out.push({
      pairId: r.id, projectId: r.project_id, comparisonId: r.comparison_id, round: r.round, annotatorId: r.user_id, annotatorEmail: r.email,
      promptKind: r.prompt_kind, prompt: r.prompt_kind === 'messages' ? JSON.parse(r.prompt) : r.prompt,
      chosen: responses[r.chosen_index], rejected: responses[r.rejected_index], chosenIndex: r.chosen_index, rejectedIndex: r.rejected_index,
      margin: r.margin, strength: r.strength, agreement, createdAt: r.created_at,
    });
  }
  return out;
}

/** One TRL preference record: standard form for a text prompt, conversational form for a chat. */
export function toTrlRecord(p: ExportedPair): Record<string, unknown> {
  if (p.promptKind === 'messages') {
    return { prompt: p.prompt, chosen: [{ role: 'assistant', content: p.chosen }], rejected: [{ role: 'assistant', content: p.rejected }] };
  }
  return { prompt: p.prompt, chosen: p.chosen, rejected: p.rejected };
}

export function renderExport(pairs: ExportedPair[], format: ExportFormat): string {
  if (format === 'jsonl') return pairs.map((p) => JSON.stringify(toTrlRecord(p)) + '\n').join('');
  return toCsv(
    ['pair_id', 'project_id', 'round', 'comparison_id', 'annotator', 'prompt', 'chosen', 'rejected', 'chosen_index', 'rejected_index', 'margin', 'strength', 'agreement', 'created_at'],
    pairs.map((p) => [p.pairId, p.projectId, p.round, p.comparisonId, p.annotatorEmail, typeof p.prompt === 'string' ? p.prompt : JSON.stringify(p.prompt), p.chosen, p.rejected, p.chosenIndex, p.rejectedIndex, p.margin, p.strength, Number.isNaN(p.agreement) ? '' : p.agreement.toFixed(4), new Date(p.createdAt).toISOString()]),
  );
}
