// @tuneloop/store's labeling:// reader against this app's export, on SQLite and PostgreSQL: rows made by the app's
// own code (createProject, importComparisons with rounds and chat prompts, nextItem, submitRanking with ties,
// "both bad" and strengths, three annotators who disagree), then for every filter the reader's pairs equal the
// export's TRL JSONL records (same order), margins equal the export's, and only pairs a trainer refuses (identical
// or empty responses) are left out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPreferencePairs, openTestStore, type TestStore } from '@tuneloop/store';
import { createUser, type SessionUser } from '../src/server/accounts.ts';
import { createProject, importComparisons, startNextRound, type Project } from '../src/server/projects.ts';
import { nextItem } from '../src/server/assignment.ts';
import { submitRanking } from '../src/server/submissions.ts';
import { exportPairs, renderExport, type ExportFilter } from '../src/server/export.ts';

const OPTS = { undoGraceMs: 5_000 };
const LEASE = 60_000;

describe.each(['sqlite', 'postgres'] as const)('labeling:// reader = the export, on %s', (dialect) => {
  let store: TestStore;
  let project: Project;
  let users: SessionUser[];
  beforeAll(async () => {
    store = await openTestStore(dialect);
    users = [];
    for (let i = 0; i < 3; i++) users.push(await createUser(store.db, `pairs${i}@test.dev`, 'password-123', 'annotator'));
    project = await createProject(store.db, { name: 'reader parity', annotatorsPerItem: 3, k: 3 });
    const r1 = [
      { prompt: '12+34=', responses: ['46', '47', '46 because 12+34 is 46'] },
      { prompt: '5+5=', responses: ['10', '10', '11'] }, // identical responses
      { prompt: '7+1=', responses: ['8', '', '9'] }, // an empty one
      { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: '2+2?' }], responses: ['4', 'four, I think', '5'] },
    ];
    await importComparisons(store.db, project.id, r1.map((x) => JSON.stringify(x)).join('\n'));
    await startNextRound(store.db, project.id);
    await importComparisons(store.db, project.id, [
      JSON.stringify({ prompt: '9+9=', responses: ['18', '19', '81'] }),
      JSON.stringify({ prompt: '3+4=', responses: ['7', '8', '34'], round: 2 }),
    ].join('\n'));
    // Each annotator ranks every item; rankings in original indices, turned into screen positions.
    const plans: { ranking: number[][]; strength?: 'much' | 'slightly'; bothBad?: boolean }[][] = [
      [{ ranking: [[0], [1], [2]], strength: 'much' }, { ranking: [[0], [2], [1]] }, { ranking: [[1, 0], [2]], strength: 'slightly' }],
      [{ ranking: [[0], [2, 1]] }, { ranking: [[0, 1, 2]], bothBad: true }, { ranking: [[2], [0], [1]], strength: 'much' }],
      [{ ranking: [[1], [0], [2]], strength: 'slightly' }, { ranking: [[0], [1], [2]] }, { ranking: [[0], [1], [2]] }],
    ];
    for (let u = 0; u < users.length; u++) {
      let n = 0;
      for (let item = await nextItem(store.db, users[u].id, project.id, LEASE); item; item = await nextItem(store.db, users[u].id, project.id, LEASE)) {
        const plan = plans[u][n++ % 3];
        const positions = plan.ranking.map((g) => g.map((orig) => item!.order.indexOf(orig)));
        await submitRanking(store.db, users[u].id, { assignmentId: item.assignmentId, ranking: positions, strength: plan.strength ?? null, bothBad: plan.bothBad ?? false }, OPTS);
      }
      expect(n).toBe(6);
    }
  });
  afterAll(async () => {
    await store?.dispose();
  });

  const filters: [string, Omit<ExportFilter, 'projectId'>][] = [
    ['', {}],
    ['?round=1', { round: 1 }],
    ['?round=2', { round: 2 }],
    ['?minAgreement=0.66', { minAgreement: 0.66 }],
    ['?round=1&minAgreement=1', { round: 1, minAgreement: 1 }],
  ];

  it.each(filters)('labeling://<id>%s', async (query, f) => {
    const exported = await exportPairs(store.db, { projectId: project.id, ...f });
    const records = renderExport(exported, 'jsonl').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const text = (c: unknown) => (typeof c === 'string' ? c : (c as { content: string }[]).map((m) => m.content).join(''));
    const keep = records.map((r) => text(r.chosen).trim() !== '' && text(r.rejected).trim() !== '' && text(r.chosen) !== text(r.rejected));
    const { pairs, source } = await loadPreferencePairs(`labeling://${project.id}${query}`, { store });
    expect(pairs.map((p) => ({ prompt: p.prompt, chosen: p.chosen, rejected: p.rejected }))).toEqual(records.filter((_, i) => keep[i]));
    const kept = exported.filter((_, i) => keep[i]);
    expect(pairs.map((p) => p.margin ?? null)).toEqual(kept.map((p) => p.margin));
    expect(pairs.map((p) => p.labeling?.pairId)).toEqual(kept.map((p) => p.pairId));
    expect(pairs.map((p) => p.labeling?.agreement)).toEqual(kept.map((p) => p.agreement));
    expect(pairs.map((p) => p.line)).toEqual(keep.flatMap((k, i) => (k ? [i + 1] : [])));
    expect(source).toMatchObject({ exported: exported.length, skipped: { identical: expect.any(Number), empty: expect.any(Number) } });
    if (source.kind === 'labeling') expect(source.skipped.identical + source.skipped.empty).toBe(exported.length - pairs.length);
  });

  it('the scenario exercises what it should: ties, both bad, skips, chat prompts, two rounds, a real agreement cut', async () => {
    const all = await loadPreferencePairs(`labeling://${encodeURIComponent('reader parity')}`, { store });
    if (all.source.kind !== 'labeling') throw new Error('labeling source expected');
    // 3 annotators x 6 items; strict rankings give 3 pairs, one tie 2, "both bad" 0
    expect(all.source.exported).toBeLessThan(3 * 6 * 3);
    expect(all.source.skipped.identical).toBeGreaterThan(0);
    expect(all.source.skipped.empty).toBeGreaterThan(0);
    expect(all.pairs.some((p) => p.kind === 'conversational')).toBe(true);
    expect(new Set(all.pairs.map((p) => p.labeling?.round))).toEqual(new Set([1, 2]));
    const agreed = await loadPreferencePairs(`labeling://${project.id}?minAgreement=0.66`, { store });
    expect(agreed.pairs.length).toBeGreaterThan(0);
    expect(agreed.pairs.length).toBeLessThan(all.pairs.length);
  });
});
