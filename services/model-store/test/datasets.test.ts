// Dataset versions in the model store over a real gRPC socket and real NATS, once per backend (fs, nats): push a
// TRL preference dataset (the @tuneloop/jobs client), read its pairs back through the pairs reader's store:// URIs,
// bad lines refused with their number and nothing left behind, size limits before any byte, NOT_FOUND for a
// missing version or file, deletes collect the dataset's blobs only.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { describeDataset, fetchDatasetFile, listDatasets, pushDataset, receive, responseOf, storeFileFetcher } from '@tuneloop/jobs';
import { DatasetFormat, type UploadDatasetRequest, type UploadDatasetResponse } from '@tuneloop/proto';
import { loadKtoExamples, loadPreferencePairs, PreferenceSourceError } from '@tuneloop/store';
import { parsePreferenceJsonl } from '@tuneloop/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_DATASET_FILE_BYTES } from '../src/dataset-check.ts';
import { tempDir, tinyLlamaFolder } from './fixtures/folders.ts';
import { startHarness, unary, uploadModel, type Harness } from './fixtures/harness.ts';

const pair = (i: number) => ({ prompt: `${i}+${i}=`, chosen: String(2 * i), rejected: String(2 * i + 1) });
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

async function rejection(p: Promise<unknown>): Promise<ServiceError & PreferenceSourceError> {
  const e = await p.then(() => null, (x: ServiceError & PreferenceSourceError) => x);
  expect(e, 'expected a rejection').not.toBeNull();
  return e!;
}

describe.each(['fs', 'nats'] as const)('dataset versions on the %s backend', (kind) => {
  let h: Harness;
  let work: string;
  let prefs: string;
  const target = () => h.svc.target;

  beforeAll(async () => {
    work = await tempDir();
    h = await startHarness(kind, join(work, 'home'));
    prefs = join(work, 'prefs');
    await mkdir(prefs);
    await writeFile(join(prefs, 'train.jsonl'), jsonl(Array.from({ length: 12 }, (_, i) => pair(i))));
    await writeFile(join(prefs, 'test.jsonl'), jsonl([pair(20), pair(21), { ...pair(22), margin: 0.5 }]));
    await writeFile(join(prefs, 'README.md'), '# arithmetic preferences\n');
    await writeFile(join(prefs, 'notes.txt'), 'not part of the dataset\n');
  });
  afterAll(async () => {
    await h?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('pushes a preference dataset and reads its pairs back through store:// URIs', async () => {
    const d = await pushDataset(target(), { source: prefs, name: 'prefs', description: 'tests' });
    expect([d.ref, d.format, d.rows]).toEqual([{ name: 'prefs', version: '1' }, DatasetFormat.PREFERENCE, 15]);
    expect(d.jsonlFiles).toEqual([{ path: 'test.jsonl', rows: 3 }, { path: 'train.jsonl', rows: 12 }]);
    expect(d.files.map((f) => f.path)).toEqual(['README.md', 'test.jsonl', 'train.jsonl', 'dataset_info.json']);
    const info = JSON.parse(Buffer.from((await fetchDatasetFile(target(), { name: 'prefs', version: '1', path: 'dataset_info.json' })).data).toString('utf8'));
    expect(info).toMatchObject({ format: 'preference', description: 'tests', rows: 15, files: [{ path: 'README.md' }, { path: 'test.jsonl', rows: 3 }, { path: 'train.jsonl', rows: 12 }] });

    const fetchStoreFile = storeFileFetcher(target);
    const local = parsePreferenceJsonl(await readFile(join(prefs, 'train.jsonl'), 'utf8'));
    const got = await loadPreferencePairs('store://prefs@1/train.jsonl', { field: 'dataset.uri', fetchStoreFile });
    expect(got.pairs).toEqual(local);
    expect(got.source).toEqual({ kind: 'store', uri: 'store://prefs@1/train.jsonl', name: 'prefs', version: '1', path: 'train.jsonl', records: 12 });
    // no version: the newest; margins come through
    const second = await pushDataset(target(), { source: join(prefs, 'test.jsonl'), name: 'prefs' });
    expect(second.ref).toEqual({ name: 'prefs', version: '2' });
    const latest = await loadPreferencePairs('store://prefs/test.jsonl', { fetchStoreFile });
    expect([latest.source.kind === 'store' && latest.source.version, latest.pairs.map((p) => p.margin)]).toEqual(['2', [undefined, undefined, 0.5]]);
    // one JSONL file: the file may be left out; two: it must be named
    expect((await loadPreferencePairs('store://prefs@2', { fetchStoreFile })).pairs).toHaveLength(3);
    const two = await rejection(loadPreferencePairs('store://prefs@1', { field: 'dataset.uri', fetchStoreFile }));
    expect([two.status, two.message]).toEqual(['INVALID_ARGUMENT', 'dataset.uri: store://prefs@1: model store: dataset prefs@1 holds 2 JSONL files (test.jsonl, train.jsonl): name one, store://prefs@1/<file>']);
    // KTO: a preference file unpaired
    const kto = await loadKtoExamples('store://prefs@2/test.jsonl', { fetchStoreFile });
    expect(kto.examples.map((x) => x.label)).toEqual([true, false, true, false, true, false]);
    expect((await listDatasets(target(), 'prefs')).map((x) => x.ref?.version)).toEqual(['2', '1']);
    // GetDataset resumes from an offset like GetModel: the tail, in small chunks, the last one with the sha256
    const original = await readFile(join(prefs, 'train.jsonl'));
    const parts: Buffer[] = [];
    let lastSha = '';
    await receive(h.client.getDataset({ ref: { name: 'prefs', version: '1' }, path: 'train.jsonl', offset: 100, chunkSize: 64 }), (c) => {
      parts.push(c.data);
      if (c.last) lastSha = c.sha256;
    });
    expect(parts.length).toBe(Math.ceil((original.length - 100) / 64));
    expect(Buffer.concat(parts).equals(original.subarray(100))).toBe(true);
    expect(lastSha).toBe(d.files.find((f) => f.path === 'train.jsonl')!.sha256);
  });

  it('missing version or file: NOT_FOUND through the reader; an unknown dataset too', async () => {
    const fetchStoreFile = storeFileFetcher(target());
    const v = await rejection(loadPreferencePairs('store://prefs@9/train.jsonl', { field: 'dataset.uri', fetchStoreFile }));
    expect(v).toBeInstanceOf(PreferenceSourceError);
    expect([v.code, v.status, v.message]).toEqual([5, 'NOT_FOUND', 'dataset.uri: store://prefs@9/train.jsonl: model store: dataset prefs@9 not found']);
    const f = await rejection(loadPreferencePairs('store://prefs@1/valid.jsonl', { fetchStoreFile }));
    expect([f.status, f.message]).toEqual(['NOT_FOUND', 'uri: store://prefs@1/valid.jsonl: model store: dataset prefs@1 has no file "valid.jsonl" (files: README.md, test.jsonl, train.jsonl, dataset_info.json)']);
    expect((await rejection(loadPreferencePairs('store://nope/x.jsonl', { fetchStoreFile }))).status).toBe('NOT_FOUND');
    expect((await rejection(describeDataset(target(), 'prefs', '9'))).code).toBe(status.NOT_FOUND);
  });

  it('a bad line is INVALID_ARGUMENT with its file and number, and nothing is stored', async () => {
    const blobsBefore = (await h.backend.blobs.list()).sort();
    const dir = join(work, 'bad');
    await mkdir(dir);
    await writeFile(join(dir, 'bad.jsonl'), `${JSON.stringify(pair(1))}\n\n{"prompt": "x", "chosen": "a"\n`);
    const e = await rejection(pushDataset(target(), { source: join(dir, 'bad.jsonl'), name: 'bad' }));
    expect(status[e.code]).toBe('INVALID_ARGUMENT');
    expect(e.details).toMatch(/^files\[bad\.jsonl\]: line 3: not valid JSON/);
    // a TRL check of @tuneloop/datasets: the line number too
    await writeFile(join(dir, 'same.jsonl'), jsonl([pair(1), { prompt: 'x', chosen: 'a', rejected: 'a' }]));
    expect((await rejection(pushDataset(target(), { source: join(dir, 'same.jsonl'), name: 'bad' }))).details).toBe('files[same.jsonl]: line 2: "chosen" and "rejected" are identical (a pair must differ)');
    // one format per dataset, and as declared
    const mixed = join(work, 'mixed');
    await mkdir(mixed);
    await writeFile(join(mixed, 'kto.jsonl'), jsonl([{ prompt: 'p', completion: 'c', label: true }]));
    await writeFile(join(mixed, 'pairs.jsonl'), jsonl([pair(3)]));
    expect((await rejection(pushDataset(target(), { source: mixed, name: 'bad' }))).details).toBe('files[pairs.jsonl]: line 1: is preference but files[kto.jsonl] is unpaired: one format per dataset');
    expect((await rejection(pushDataset(target(), { source: join(mixed, 'kto.jsonl'), name: 'bad', format: DatasetFormat.PREFERENCE }))).details).toBe('files[kto.jsonl]: line 1: is unpaired but header.format says preference: one format per dataset');
    expect(await listDatasets(target(), 'bad')).toEqual([]);
    expect((await h.backend.blobs.list()).sort()).toEqual(blobsBefore);
    // a KTO set and a prompt-only set (GRPO / best-of-N prompts, extra fields kept) are datasets too
    const k = await pushDataset(target(), { source: join(mixed, 'kto.jsonl'), name: 'kto' });
    expect([k.format, k.rows]).toEqual([DatasetFormat.UNPAIRED, 1]);
    await writeFile(join(dir, 'prompts.jsonl'), jsonl([{ prompt: '1+1=', answer: '2' }, { prompt: [{ role: 'user', content: '2+2=' }], answer: '4' }]));
    const pr = await pushDataset(target(), { source: join(dir, 'prompts.jsonl'), name: 'prompts' });
    expect([pr.format, pr.rows]).toEqual([DatasetFormat.PROMPTS, 2]);
  });

  it('refuses other files, dataset_info.json and over-size files from the header, before any data', async () => {
    const upload = (files: { path: string; size: number; sha256: string }[]) => {
      const { call, done } = responseOf((cb: (e: ServiceError | null, r?: UploadDatasetResponse) => void) => h.client.uploadDataset(new Metadata(), cb));
      const header: UploadDatasetRequest = { part: { $case: 'header', value: { ref: { name: 'big', version: '' }, format: 0, files, description: '' } } };
      call.write(header);
      call.end();
      return done;
    };
    const sha = 'a'.repeat(64);
    const big = await rejection(upload([{ path: 'train.jsonl', size: MAX_DATASET_FILE_BYTES + 1, sha256: sha }]));
    expect([status[big.code], big.details]).toEqual(['INVALID_ARGUMENT', `header.files[0].size: train.jsonl: a JSONL file must be at most ${MAX_DATASET_FILE_BYTES} bytes, got ${MAX_DATASET_FILE_BYTES + 1}`]);
    expect((await rejection(upload([{ path: 'notes.txt', size: 3, sha256: sha }]))).details).toBe('header.files[0].path: a dataset holds *.jsonl files (and README.md), got "notes.txt"');
    expect((await rejection(upload([{ path: 'dataset_info.json', size: 3, sha256: sha }]))).details).toMatch(/^header\.files\[0\]\.path: dataset_info\.json is written by the store/);
  });

  it('deleting a version removes the blobs only it used; deleting a model keeps a dataset blob it shared', async () => {
    const v1 = await describeDataset(target(), 'prefs', '1');
    const v2 = await describeDataset(target(), 'prefs', '2');
    await unary(h.client.deleteDataset.bind(h.client) as never, { ref: { name: 'prefs', version: '1' } });
    const left = new Set(await h.backend.blobs.list());
    const shared = v2.files.find((f) => f.path === 'test.jsonl')!.sha256; // the same test.jsonl bytes in both versions
    expect(left.has(shared)).toBe(true);
    expect(left.has(v1.files.find((f) => f.path === 'train.jsonl')!.sha256)).toBe(false);
    expect((await listDatasets(target(), 'prefs')).map((x) => x.ref?.version)).toEqual(['2']);
    // a model that holds the same bytes as a dataset file: deleting the model keeps the dataset's blob
    const model = join(work, 'model-with-data');
    await tinyLlamaFolder(model);
    await writeFile(join(model, 'test.jsonl'), await readFile(join(prefs, 'test.jsonl')));
    await uploadModel(h.client, model, 'holder');
    await unary(h.client.deleteModel.bind(h.client) as never, { ref: { name: 'holder', version: '1' } });
    expect(await h.backend.blobs.size(shared)).not.toBeNull();
    expect((await loadPreferencePairs('store://prefs@2/test.jsonl', { fetchStoreFile: storeFileFetcher(target()) })).pairs).toHaveLength(3);
  });
});
