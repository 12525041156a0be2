// The preference-pair reader: TRL JSONL files (path, file://, relative to baseDir; a bad line names the file and
// line), KTO files and unpairing, unsupported URIs, and labeling:// on SQLite and PostgreSQL from rows in the real
// schema (ties give no pair, rounds, agreement filter, chat prompts, skipped identical / empty responses, project by
// name, missing project / database). Parity with the labeling app's export: apps/labeling/test/preference-source.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { openStore, dropPostgresSchema } from './connect.ts';
import { openTestStore, TEST_PG_URL, type TestStore } from './test-stores.ts';
import { loadKtoExamples, loadPreferencePairs, parseSourceUri, PreferenceSourceError } from './preference-source.ts';
import type { Database } from './schema.ts';
import type { Kysely } from 'kysely';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tuneloop-pairs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fail = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a rejection'); }, (e: PreferenceSourceError) => e);

describe('preference files', () => {
  const good = [
    { prompt: '1+1=', chosen: '2', rejected: '3', margin: 0.5 },
    { prompt: '2+2=', chosen: '4', rejected: '5' },
  ];
  const file = path.join(dir, 'pairs.jsonl');
  writeFileSync(file, good.map((g) => JSON.stringify(g)).join('\n') + '\n');

  it('reads a path, a file:// URI and a path relative to baseDir alike', async () => {
    const a = await loadPreferencePairs(file);
    expect(a.pairs.map((p) => [p.line, p.kind, p.prompt, p.chosen, p.rejected, p.margin])).toEqual([
      [1, 'standard', '1+1=', '2', '3', 0.5],
      [2, 'standard', '2+2=', '4', '5', undefined],
    ]);
    expect(a.source).toEqual({ kind: 'file', uri: file, path: file, records: 2 });
    expect((await loadPreferencePairs(pathToFileURL(file).href)).pairs).toEqual(a.pairs);
    expect((await loadPreferencePairs('pairs.jsonl', { baseDir: dir })).pairs).toEqual(a.pairs);
  });

  it('a bad line: INVALID_ARGUMENT naming the field, the file and the line', async () => {
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, `${JSON.stringify(good[0])}\n\n{"prompt": "x", "chosen": "a", "rejected": "a"}\n`);
    const e = await fail(loadPreferencePairs(bad, { field: 'dataset.uri' }));
    expect(e).toBeInstanceOf(PreferenceSourceError);
    expect([e.code, e.status, e.line, e.message]).toEqual([3, 'INVALID_ARGUMENT', 3, 'dataset.uri: bad.jsonl: line 3: "chosen" and "rejected" are identical (a pair must differ)']);
    expect(e.details).toBe(e.message);
    writeFileSync(bad, `${JSON.stringify(good[0])}\n{not json\n`);
    expect((await fail(loadPreferencePairs(bad))).message).toMatch(/^uri: bad\.jsonl: line 2: not valid JSON/);
  });

  it('missing file, store:// without a store, unknown schemes and bad labeling queries are INVALID_ARGUMENT', async () => {
    const e = await fail(loadPreferencePairs(path.join(dir, 'nope.jsonl'), { field: 'dataset.uri' }));
    expect([e.code, e.message]).toEqual([3, `dataset.uri: no such file: ${path.join(dir, 'nope.jsonl')}`]);
    // store:// needs the caller's fetchStoreFile (tests against a real model store: services/model-store/test/datasets.test.ts)
    expect((await fail(loadPreferencePairs('store://prefs@1/train.jsonl'))).message).toBe('uri: store://prefs@1/train.jsonl: this reader has no model store connection (the caller passes no fetchStoreFile)');
    expect(parseSourceUri('store://prefs@3/train.jsonl')).toEqual({ kind: 'store', name: 'prefs', version: '3', path: 'train.jsonl' });
    expect(parseSourceUri('store://prefs')).toEqual({ kind: 'store', name: 'prefs' });
    expect(parseSourceUri('store://prefs@latest/a.jsonl')).toEqual({ kind: 'store', name: 'prefs', path: 'a.jsonl' });
    expect(() => parseSourceUri('store://prefs@1/../x.jsonl')).toThrow('the file must be a plain file name');
    expect(() => parseSourceUri('store://@1/x.jsonl')).toThrow('dataset name must match');
    expect((await fail(loadPreferencePairs('s3://bucket/x.jsonl'))).message).toContain('unsupported scheme "s3://"');
    expect(() => parseSourceUri('labeling://p?round=0')).toThrow('uri: round: must be an integer >= 1 or "current", got "0"');
    expect(() => parseSourceUri('labeling://p?minAgreement=2')).toThrow('minAgreement: must be a number in 0..1, got "2"');
    expect(() => parseSourceUri('labeling://p?rnd=1')).toThrow('unknown query parameter "rnd"');
    expect(() => parseSourceUri('labeling://')).toThrow('must name a project');
    expect(parseSourceUri('labeling://Demo%20round%201?round=current&minAgreement=0.5')).toEqual({ kind: 'labeling', project: 'Demo round 1', round: 'current', minAgreement: 0.5 });
  });

  it('KTO: an unpaired file as is, a preference file unpaired as TRL does', async () => {
    const kto = path.join(dir, 'kto.jsonl');
    writeFileSync(kto, '{"prompt":"1+1=","completion":"2","label":true}\n{"prompt":"1+1=","completion":"3","label":false}\n');
    expect((await loadKtoExamples(kto)).examples.map((x) => [x.completion, x.label])).toEqual([['2', true], ['3', false]]);
    expect((await loadKtoExamples(file)).examples.map((x) => [x.line, x.prompt, x.completion, x.label])).toEqual([
      [1, '1+1=', '2', true], [1, '1+1=', '3', false], [2, '2+2=', '4', true], [2, '2+2=', '5', false],
    ]);
  });
});

/** Rows as the labeling app writes them: project, users, comparisons, rankings and their pairs. */
async function seed(db: Kysely<Database>, name: string) {
  const now = Date.now();
  const pid = `p-${randomBytes(4).toString('hex')}`;
  await db.insertInto('projects').values({ id: pid, name, guidelines: '', annotators_per_item: 2, k: 3, current_round: 2, created_at: now }).execute();
  for (const u of ['u1', 'u2']) {
    await db.insertInto('users').values({ id: `${pid}-${u}`, email: `${pid}-${u}@t`, password_hash: 'h', role: 'annotator', created_at: now }).onConflict((oc) => oc.doNothing()).execute();
  }
  const comparisons = [
    { id: `${pid}-c1`, round: 1, prompt_kind: 'text' as const, prompt: '1+1=', responses: ['2', '3', '22'] },
    { id: `${pid}-c2`, round: 1, prompt_kind: 'text' as const, prompt: '2+2=', responses: ['4', '4', ''] },
    { id: `${pid}-c3`, round: 2, prompt_kind: 'messages' as const, prompt: JSON.stringify([{ role: 'user', content: '3+3=' }]), responses: ['6', '7', '66'] },
  ];
  for (const c of comparisons) {
    await db.insertInto('comparisons').values({ ...c, project_id: pid, responses: JSON.stringify(c.responses), open_slots: 0, source_line: 1, created_at: now }).execute();
  }
  let t = now;
  // ranking: groups of response indices, best first; pairs: every (a, b) with a's group first (ties give none)
  const rank = async (user: string, cid: string, round: number, ranking: number[][], strength: 'much' | 'slightly' | null) => {
    const rid = `${cid}-${user}`;
    t += 1;
    await db.insertInto('rankings').values({ id: rid, assignment_id: `a-${rid}`, comparison_id: cid, project_id: pid, user_id: `${pid}-${user}`, round, ranking: JSON.stringify(ranking), both_bad: 0, strength, comment: null, response_order: '[0,1,2]', duration_ms: 10, created_at: t }).execute();
    let n = 0;
    for (let g = 0; g < ranking.length; g++) for (let h = g + 1; h < ranking.length; h++) for (const c of ranking[g]) for (const r of ranking[h]) {
      await db.insertInto('preference_pairs').values({ id: `${rid}-${n++}`, ranking_id: rid, comparison_id: cid, project_id: pid, user_id: `${pid}-${user}`, round, chosen_index: c, rejected_index: r, margin: strength === 'much' ? 1 : strength === 'slightly' ? 1 / 3 : null, strength, created_at: t }).execute();
    }
  };
  await rank('u1', `${pid}-c1`, 1, [[0], [1], [2]], 'much'); // 0>1, 0>2, 1>2
  await rank('u2', `${pid}-c1`, 1, [[0], [2, 1]], null); // 0>2, 0>1 (tie 1~2: no pair)
  await rank('u1', `${pid}-c2`, 1, [[0], [1], [2]], null); // 0>1 identical, 0>2 and 1>2 empty
  await rank('u1', `${pid}-c3`, 2, [[0], [1, 2]], 'slightly'); // 0>1, 0>2
  return pid;
}

describe.each(['sqlite', 'postgres'] as const)('labeling:// on %s', (dialect) => {
  let store: TestStore;
  let pid: string;
  beforeAll(async () => {
    store = await openTestStore(dialect);
    pid = await seed(store.db, 'arith prefs');
  });
  afterAll(async () => {
    await store?.dispose();
  });
  const triple = (p: { prompt: unknown; chosen: unknown; rejected: unknown }) => [p.prompt, p.chosen, p.rejected];

  it('every round: export order, ties give no pair, identical / empty responses skipped and counted', async () => {
    const { pairs, source } = await loadPreferencePairs(`labeling://${pid}`, { store });
    expect(pairs.map(triple)).toEqual([
      ['1+1=', '2', '3'], ['1+1=', '2', '22'], ['1+1=', '3', '22'],
      ['1+1=', '2', '22'], ['1+1=', '2', '3'],
      [[{ role: 'user', content: '3+3=' }], [{ role: 'assistant', content: '6' }], [{ role: 'assistant', content: '7' }]],
      [[{ role: 'user', content: '3+3=' }], [{ role: 'assistant', content: '6' }], [{ role: 'assistant', content: '66' }]],
    ]);
    expect(pairs.map((p) => p.margin)).toEqual([1, 1, 1, undefined, undefined, 1 / 3, 1 / 3]);
    expect(pairs.map((p) => p.kind)).toEqual(['standard', 'standard', 'standard', 'standard', 'standard', 'conversational', 'conversational']);
    // line = position in the export (the skipped c2 pairs are lines 6-8)
    expect(pairs.map((p) => p.line)).toEqual([1, 2, 3, 4, 5, 9, 10]);
    expect(pairs[0].labeling).toMatchObject({ comparisonId: `${pid}-c1`, annotatorId: `${pid}-u1`, round: 1, agreement: 1, strength: 'much' });
    expect(pairs[2].labeling?.agreement).toBe(0.5); // 1>2: u1 yes, u2 tied
    expect(source).toMatchObject({ kind: 'labeling', projectId: pid, projectName: 'arith prefs', round: null, minAgreement: null, dialect, exported: 10, skipped: { identical: 1, empty: 2 } });
  });

  it('round and agreement filters as the export; round=current; project by name', async () => {
    const r2 = await loadPreferencePairs(`labeling://${pid}?round=2`, { store });
    expect(r2.pairs.map((p) => p.labeling?.round)).toEqual([2, 2]);
    expect((await loadPreferencePairs(`labeling://${pid}?round=current`, { store })).pairs).toEqual(r2.pairs);
    expect((await loadPreferencePairs(`labeling://${pid}?round=3`, { store })).pairs).toEqual([]);
    // c1: both annotators say 0>1 and 0>2 (agreement 1); 1>2 only u1 (u2 tied: 0.5)
    const agreed = await loadPreferencePairs(`labeling://${pid}?round=1&minAgreement=0.75`, { store });
    expect(agreed.pairs.map(triple)).toEqual([['1+1=', '2', '3'], ['1+1=', '2', '22'], ['1+1=', '2', '22'], ['1+1=', '2', '3']]);
    expect(agreed.pairs.every((p) => p.labeling?.agreement === 1)).toBe(true);
    const byName = await loadPreferencePairs('labeling://arith%20prefs?round=1', { store });
    expect(byName.pairs.length).toBe(5);
    const kto = await loadKtoExamples(`labeling://${pid}?round=2`, { store });
    expect(kto.examples.map((x) => [x.label, x.completion])).toEqual([
      [true, [{ role: 'assistant', content: '6' }]], [false, [{ role: 'assistant', content: '7' }]],
      [true, [{ role: 'assistant', content: '6' }]], [false, [{ role: 'assistant', content: '66' }]],
    ]);
  });

  it('a missing project is NOT_FOUND naming it; two projects of one name ask for an id', async () => {
    const e = await fail(loadPreferencePairs('labeling://no-such-project?round=1', { store, field: 'dataset.uri' }));
    expect([e.code, e.status]).toEqual([5, 'NOT_FOUND']);
    expect(e.message).toMatch(/^dataset\.uri: labeling project "no-such-project" not found \(by id or name\) in the database at /);
    const other = await seed(store.db, 'arith prefs');
    const dup = await fail(loadPreferencePairs('labeling://arith prefs', { store }));
    expect([dup.code, dup.status]).toEqual([3, 'INVALID_ARGUMENT']);
    expect(dup.message).toMatch(/^uri: 2 labeling projects are named "arith prefs"; use an id: /);
    expect(dup.message).toContain(pid);
    expect(dup.message).toContain(other);
  });
});

describe('labeling:// opening the database itself', () => {
  it('SQLite from TUNELOOP_HOME / TUNELOOP_DATABASE_URL; no database file -> NOT_FOUND and none created', async () => {
    const home = path.join(dir, 'home');
    const seeded = await openStore({ home });
    const pid = await seed(seeded.db, 'x');
    await seeded.close();
    const viaHome = await loadPreferencePairs(`labeling://${pid}`, { env: { TUNELOOP_HOME: home } });
    expect(viaHome.pairs).toHaveLength(7);
    expect(viaHome.source).toMatchObject({ dialect: 'sqlite', database: path.join(home, 'tuneloop.db') });
    const viaUrl = await loadPreferencePairs(`labeling://${pid}`, { env: { TUNELOOP_DATABASE_URL: `sqlite:${path.join(home, 'tuneloop.db')}` } });
    expect(viaUrl.pairs).toEqual(viaHome.pairs);
    const empty = path.join(dir, 'empty-home');
    const e = await fail(loadPreferencePairs(`labeling://${pid}`, { storeOptions: { home: empty }, env: {} }));
    expect([e.code, e.message]).toEqual([5, `uri: no labeling database at ${path.join(empty, 'tuneloop.db')} (set TUNELOOP_DATABASE_URL, or TUNELOOP_HOME to where the labeling app keeps tuneloop.db)`]);
    expect(existsSync(path.join(empty, 'tuneloop.db'))).toBe(false);
    // storeOptions without a url still follow TUNELOOP_DATABASE_URL (a service passing only its home)
    const mixed = await loadPreferencePairs(`labeling://${pid}`, { storeOptions: { home: empty, url: undefined }, env: { TUNELOOP_DATABASE_URL: path.join(home, 'tuneloop.db') } });
    expect(mixed.pairs).toEqual(viaHome.pairs);
  });

  it('PostgreSQL from a URL (and schema); a server that does not answer is UNAVAILABLE; no labeling tables is NOT_FOUND', async () => {
    const schema = `tl_pairs_${randomBytes(5).toString('hex')}`;
    const seeded = await openStore({ url: TEST_PG_URL, schema });
    try {
      const pid = await seed(seeded.db, 'pg');
      const r = await loadPreferencePairs(`labeling://${pid}?round=1`, { storeOptions: { url: TEST_PG_URL, schema } });
      expect(r.pairs).toHaveLength(5);
      expect(r.source).toMatchObject({ dialect: 'postgres', database: TEST_PG_URL });
    } finally {
      await seeded.close();
      await dropPostgresSchema(TEST_PG_URL, schema);
    }
    const down = await fail(loadPreferencePairs('labeling://p', { storeOptions: { url: 'postgres://postgres@127.0.0.1:1/test' } }));
    expect([down.code, down.status, down.retryable]).toEqual([14, 'UNAVAILABLE', true]);
    expect(down.message).toMatch(/^uri: cannot open the labeling database \(/);
    const bare = `tl_pairs_${randomBytes(5).toString('hex')}`;
    try {
      const e = await fail(loadPreferencePairs('labeling://p', { storeOptions: { url: TEST_PG_URL, schema: bare } }));
      expect([e.code, e.message]).toEqual([5, `uri: the database at ${TEST_PG_URL} has no labeling tables (has the labeling app run on it?)`]);
    } finally {
      await dropPostgresSchema(TEST_PG_URL, bare);
    }
  });
});
