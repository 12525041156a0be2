// The one reader of preference pairs for training services (reward-model, preference-optimizer) and the CLI:
// a DatasetRef.uri names a TRL JSONL file (plain path or file://) or pairs in the labeling database
// (labeling://<project id or name>?round=<n>&minAgreement=<a>). Labeling pairs are exactly the labeling app's
// export (apps/labeling/src/server/export.ts: same rows, order, round and agreement filter, TRL record shape),
// plus each pair's Bradley-Terry margin from the annotation strength; pairs no trainer accepts (identical or
// empty responses) are left out and counted. `store://<name>@<version>/<file>` (or `store://<name>@<version>` for
// a one-file dataset; no version: the newest) reads a dataset version of the model store through the caller's
// `fetchStoreFile` (libs/store does no gRPC: @tuneloop/jobs' storeFileFetcher(target) is the usual one).
//
// Errors carry a numeric gRPC `code` and `details` (service-kit's toGrpcStatus passes them through unchanged),
// a string `status`, the `field` and, for a bad JSONL line, the 1-based `line`.
import { readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Content, KtoRecord, PreferenceRecord } from '@tuneloop/datasets';
import { openStore, storeOptionsFromEnv, isPostgresUrl, type Store, type StoreOptions } from './connect.ts';

/** Largest JSONL file read (it is read whole), as the adapter trainer's dataset limit. */
export const MAX_PREFERENCE_FILE_BYTES = 256 * 1024 * 1024;

const GRPC = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, FAILED_PRECONDITION: 9, UNAVAILABLE: 14 } as const;
export type PreferenceSourceStatus = keyof typeof GRPC;

/** A bad or unreachable source. `code`/`details` follow gRPC so a service handler can rethrow it as is. */
export class PreferenceSourceError extends Error {
  override readonly name = 'PreferenceSourceError';
  readonly code: number;
  readonly details: string;
  readonly retryable: boolean;
  constructor(
    readonly status: PreferenceSourceStatus,
    readonly field: string,
    problem: string,
    opts: { cause?: unknown; line?: number } = {},
  ) {
    super(`${field}: ${problem}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = GRPC[status];
    this.details = this.message;
    this.retryable = status === 'UNAVAILABLE';
    if (opts.line !== undefined) this.line = opts.line;
  }
  /** 1-based line of a bad JSONL line (file sources), else undefined. */
  readonly line?: number;
}

/** Where a labeling pair came from (labeling sources only). */
export interface LabelingPairOrigin {
  pairId: string;
  comparisonId: string;
  annotatorId: string;
  round: number;
  /** Share of the comparison's annotators who agree with this pair (the export's `agreement`). */
  agreement: number;
  strength: 'slightly' | 'much' | null;
}

/** A TRL preference record (`@tuneloop/datasets` PreferenceRecord: `line` is the 1-based line in the file or in
 * the labeling export) and, for labeling sources, its origin. */
export interface SourcedPreference extends PreferenceRecord {
  labeling?: LabelingPairOrigin;
}

export type PreferenceSource =
  | { kind: 'file'; uri: string; path: string; records: number }
  /** A model-store dataset version; `version` is the resolved one (never 'latest'). */
  | { kind: 'store'; uri: string; name: string; version: string; path: string; records: number }
  | {
      kind: 'labeling';
      uri: string;
      projectId: string;
      projectName: string;
      /** The round read; null: every round. */
      round: number | null;
      minAgreement: number | null;
      /** sqlite or postgres, and where (password masked). */
      dialect: 'sqlite' | 'postgres';
      database: string;
      /** Pairs in the export before the trainer-side checks. */
      exported: number;
      /** Left out: chosen and rejected identical, or an empty response. */
      skipped: { identical: number; empty: number };
    };

export interface PreferenceSourceOptions {
  /** Field named in errors, e.g. 'dataset.uri' (default 'uri'). */
  field?: string;
  /** Relative file paths resolve against this (a service passes TUNELOOP_HOME; default the working directory). */
  baseDir?: string;
  /** An open store for labeling:// (left open); otherwise one is opened from `storeOptions` and closed after. */
  store?: Store;
  /** Where the labeling database is; fields left out come from TUNELOOP_DATABASE_URL / TUNELOOP_HOME in `env`. */
  storeOptions?: StoreOptions;
  env?: NodeJS.ProcessEnv;
  /** Reads one file of a model-store dataset version, for store:// URIs (@tuneloop/jobs storeFileFetcher(target)). */
  fetchStoreFile?: FetchStoreFile;
}

/** A file of a dataset version in the model store (version undefined: the newest; path undefined: the only JSONL file). */
export interface StoreFileRef {
  name: string;
  version?: string;
  path?: string;
}

/**
 * Fetches a dataset file from the model store. Rejections with a numeric gRPC `code` (NOT_FOUND, INVALID_ARGUMENT,
 * UNAVAILABLE, ...) and `details` keep their code; anything else is UNAVAILABLE.
 */
export type FetchStoreFile = (ref: StoreFileRef, opts: { maxBytes: number }) => Promise<{ name: string; version: string; path: string; data: Uint8Array }>;

export interface LoadedPreferencePairs {
  pairs: SourcedPreference[];
  source: PreferenceSource;
}

export interface LoadedKtoExamples {
  examples: KtoRecord[];
  source: PreferenceSource;
}

type Datasets = typeof import('@tuneloop/datasets');
// Loaded on first use and hidden from bundlers: @tuneloop/store is also bundled into the labeling app (Next.js),
// which must not pull the datasets library (and tfjs behind it) into its server build.
const DATASETS = '@tuneloop/datasets';
const datasets = (): Promise<Datasets> => import(/* @vite-ignore */ /* webpackIgnore: true */ /* turbopackIgnore: true */ DATASETS);

/** Loads preference pairs from a file path, file:// URI or labeling:// URI (see the file header). */
export async function loadPreferencePairs(uri: string, opts: PreferenceSourceOptions = {}): Promise<LoadedPreferencePairs> {
  const field = opts.field ?? 'uri';
  const ref = parseSourceUri(uri, field);
  if (ref.kind === 'file' || ref.kind === 'store') {
    const t = await readSourceText(ref, uri, opts, field);
    const ds = await datasets();
    const pairs = wrapDatasetErrors(() => ds.parsePreferenceJsonl(t.text, { source: t.label }), field, ds);
    return { pairs, source: { ...t.source, records: pairs.length } };
  }
  return withStore(opts, field, (store) => readLabelingPairs(store, ref, uri, field));
}

/**
 * Unpaired (KTO) examples: a KTO JSONL file ({prompt, completion, label}) as is; a preference file or labeling
 * source unpaired as TRL's unpair_preference_dataset does (chosen -> label true, rejected -> false, in pair order).
 */
export async function loadKtoExamples(uri: string, opts: PreferenceSourceOptions = {}): Promise<LoadedKtoExamples> {
  const field = opts.field ?? 'uri';
  const ref = parseSourceUri(uri, field);
  if (ref.kind === 'file' || ref.kind === 'store') {
    const t = await readSourceText(ref, uri, opts, field);
    const ds = await datasets();
    if (isKtoText(t.text)) {
      const examples = wrapDatasetErrors(() => ds.parseKtoJsonl(t.text, { source: t.label }), field, ds);
      return { examples, source: { ...t.source, records: examples.length } };
    }
    // read once: a store file is not fetched a second time
    const pairs = wrapDatasetErrors(() => ds.parsePreferenceJsonl(t.text, { source: t.label }), field, ds);
    return { examples: unpair(pairs), source: { ...t.source, records: pairs.length } };
  }
  const { pairs, source } = await loadPreferencePairs(uri, opts);
  return { examples: unpair(pairs), source };
}

function unpair(pairs: PreferenceRecord[]): KtoRecord[] {
  return pairs.flatMap((p) => [
    { line: p.line, kind: p.kind, prompt: p.prompt, completion: p.chosen, label: true },
    { line: p.line, kind: p.kind, prompt: p.prompt, completion: p.rejected, label: false },
  ]);
}

/** The first non-empty line decides: {prompt, completion, label} without "chosen" is KTO's unpaired form. */
function isKtoText(text: string): boolean {
  const first = text.split('\n').find((l) => l.trim() !== '');
  if (!first) return false;
  try {
    const o = JSON.parse(first) as Record<string, unknown>;
    return o !== null && typeof o === 'object' && 'completion' in o && 'label' in o && !('chosen' in o);
  } catch {
    return false;
  }
}

// ---- URIs ----

export type SourceRef =
  | { kind: 'file'; path: string }
  | { kind: 'store'; name: string; version?: string; path?: string }
  | { kind: 'labeling'; project: string; round: number | 'current' | null; minAgreement: number | null };

/** Parses a source URI; INVALID_ARGUMENT naming `field` for anything else. */
export function parseSourceUri(uri: string, field = 'uri'): SourceRef {
  const bad = (problem: string) => new PreferenceSourceError('INVALID_ARGUMENT', field, problem);
  if (typeof uri !== 'string' || uri.trim() === '') throw bad('must name a JSONL file (path or file://), store://<dataset>@<version>/<file> or labeling://<project>');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
  if (!scheme) return { kind: 'file', path: uri };
  if (scheme === 'file') {
    try {
      return { kind: 'file', path: fileURLToPath(uri) };
    } catch (e) {
      throw bad(`not a valid file:// URI (${(e as Error).message}), got ${JSON.stringify(uri)}`);
    }
  }
  if (scheme === 'store') return parseStoreUri(uri, bad);
  if (scheme !== 'labeling') throw bad(`unsupported scheme "${scheme}://" (supported: a file path, file://, store://, labeling://), got ${JSON.stringify(uri)}`);
  const rest = uri.slice('labeling://'.length);
  const q = rest.indexOf('?');
  let project: string;
  try {
    project = decodeURIComponent((q < 0 ? rest : rest.slice(0, q)).replace(/\/+$/, ''));
  } catch {
    throw bad(`project: not valid percent-encoding in ${JSON.stringify(uri)}`);
  }
  if (!project) throw bad(`labeling://: must name a project (id or name), got ${JSON.stringify(uri)}`);
  const params = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1));
  let round: number | 'current' | null = null;
  let minAgreement: number | null = null;
  for (const [k, v] of params) {
    if (k === 'round') {
      if (v === 'current') round = 'current';
      else {
        const r = Number(v);
        // as the export: an integer >= 1
        if (v.trim() === '' || !Number.isInteger(r) || r < 1) throw bad(`round: must be an integer >= 1 or "current", got ${JSON.stringify(v)}`);
        round = r;
      }
    } else if (k === 'minAgreement') {
      const a = Number(v);
      if (v.trim() === '' || !(a >= 0 && a <= 1)) throw bad(`minAgreement: must be a number in 0..1, got ${JSON.stringify(v)}`);
      minAgreement = a;
    } else throw bad(`unknown query parameter "${k}" (known: round, minAgreement)`);
  }
  return { kind: 'labeling', project, round, minAgreement };
}

// As the model store's refs.ts: names and versions it accepts, plain file names.
const STORE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const STORE_VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const STORE_FILE_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;

/** store://<name>[@<version>][/<file>]; version '' or 'latest' = the newest. */
function parseStoreUri(uri: string, bad: (problem: string) => PreferenceSourceError): SourceRef {
  const rest = uri.slice('store://'.length);
  if (rest.includes('?') || rest.includes('#')) throw bad(`store://: no query or fragment allowed, got ${JSON.stringify(uri)}`);
  const slash = rest.indexOf('/');
  const refText = slash < 0 ? rest : rest.slice(0, slash);
  const file = slash < 0 ? undefined : rest.slice(slash + 1);
  const at = refText.lastIndexOf('@');
  const name = at < 0 ? refText : refText.slice(0, at);
  const version = at < 0 ? undefined : refText.slice(at + 1);
  const form = 'store://<dataset>@<version>/<file.jsonl>';
  if (!STORE_NAME_RE.test(name) || name.includes('..')) throw bad(`store://: dataset name must match ${STORE_NAME_RE} (${form}), got ${JSON.stringify(name)}`);
  if (version !== undefined && (!STORE_VERSION_RE.test(version) || version.includes('..'))) {
    throw bad(`store://: version must match ${STORE_VERSION_RE} (${form}), got ${JSON.stringify(version)}`);
  }
  if (file !== undefined && (!STORE_FILE_RE.test(file) || file.includes('..'))) {
    throw bad(`store://: the file must be a plain file name of the dataset version (${form}), got ${JSON.stringify(file)}`);
  }
  return { kind: 'store', name, ...(version && version !== 'latest' ? { version } : {}), ...(file ? { path: file } : {}) };
}

// ---- files ----

type TextSource = { kind: 'file'; uri: string; path: string } | { kind: 'store'; uri: string; name: string; version: string; path: string };

/** The text of a file or store source, a label for line errors (the file name), and the source without counts. */
async function readSourceText(
  ref: Extract<SourceRef, { kind: 'file' | 'store' }>,
  uri: string,
  opts: PreferenceSourceOptions,
  field: string,
): Promise<{ text: string; label: string; source: TextSource }> {
  if (ref.kind === 'file') {
    const { file, text } = await readSourceFile(ref.path, opts, field);
    return { text, label: path.basename(file), source: { kind: 'file', uri, path: file } };
  }
  const shown = `store://${ref.name}@${ref.version ?? 'latest'}${ref.path ? `/${ref.path}` : ''}`;
  if (!opts.fetchStoreFile) throw new PreferenceSourceError('INVALID_ARGUMENT', field, `${shown}: this reader has no model store connection (the caller passes no fetchStoreFile)`);
  let got: Awaited<ReturnType<FetchStoreFile>>;
  try {
    got = await opts.fetchStoreFile({ name: ref.name, version: ref.version, path: ref.path }, { maxBytes: MAX_PREFERENCE_FILE_BYTES });
  } catch (e) {
    const err = e as { code?: unknown; details?: unknown; message?: unknown };
    const byCode = (Object.entries(GRPC) as [PreferenceSourceStatus, number][]).find(([, c]) => c === err.code)?.[0];
    const detail = typeof err.details === 'string' && err.details ? err.details : String(err.message ?? e);
    throw new PreferenceSourceError(byCode ?? 'UNAVAILABLE', field, `${shown}: model store: ${detail}`, { cause: e });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(got.data);
  } catch {
    throw new PreferenceSourceError('INVALID_ARGUMENT', field, `${shown}: not valid UTF-8`);
  }
  return { text, label: `${got.name}@${got.version}/${got.path}`, source: { kind: 'store', uri, name: got.name, version: got.version, path: got.path } };
}

async function readSourceFile(p: string, opts: PreferenceSourceOptions, field: string): Promise<{ file: string; text: string }> {
  const file = path.isAbsolute(p) ? p : path.resolve(opts.baseDir ?? process.cwd(), p);
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch {
    throw new PreferenceSourceError('INVALID_ARGUMENT', field, `no such file: ${file}`);
  }
  if (size > MAX_PREFERENCE_FILE_BYTES) throw new PreferenceSourceError('INVALID_ARGUMENT', field, `${file} is ${size} bytes, more than the limit of ${MAX_PREFERENCE_FILE_BYTES}`);
  return { file, text: await readFile(file, 'utf8') };
}

function wrapDatasetErrors<T>(fn: () => T, field: string, ds: Datasets): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ds.DatasetError) throw new PreferenceSourceError('INVALID_ARGUMENT', field, e.message, { cause: e, line: e.line });
    throw e;
  }
}

// ---- labeling database ----

async function withStore<T>(opts: PreferenceSourceOptions, field: string, fn: (store: Store) => Promise<T>): Promise<T> {
  if (opts.store) return fn(opts.store);
  // Fields not given come from the environment, so { home } alone still follows TUNELOOP_DATABASE_URL (PostgreSQL).
  const given = Object.fromEntries(Object.entries(opts.storeOptions ?? {}).filter(([, v]) => v !== undefined));
  const so: StoreOptions = { ...storeOptionsFromEnv(opts.env ?? process.env), ...given };
  if (!isPostgresUrl(so.url)) {
    const file = so.url ? so.url.replace(/^sqlite:/, '') : path.join(so.home ?? '.tuneloop', 'tuneloop.db');
    // Never create an empty database as a side effect of reading.
    if (file !== ':memory:' && !existsSync(file)) {
      throw new PreferenceSourceError('NOT_FOUND', field, `no labeling database at ${path.resolve(file)} (set TUNELOOP_DATABASE_URL, or TUNELOOP_HOME to where the labeling app keeps tuneloop.db)`);
    }
  }
  let store: Store;
  try {
    store = await openStore({ ...so, migrate: false });
  } catch (e) {
    throw new PreferenceSourceError('UNAVAILABLE', field, `cannot open the labeling database (${(e as Error).message})`, { cause: e });
  }
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** -1: the lower index preferred, 1: the higher preferred, 0: tie; per (comparison, i<j), per annotator. */
function pairSupport(rankings: { comparisonId: string; userId: string; k: number; ranking: number[][] }[]) {
  const judgments = new Map<string, Map<string, number>>();
  for (const r of rankings) {
    const ranks = new Array<number>(r.k).fill(NaN);
    let place = 1;
    for (const group of r.ranking) {
      const mid = place + (group.length - 1) / 2;
      for (const i of group) ranks[i] = mid;
      place += group.length;
    }
    for (let i = 0; i < r.k; i++) {
      for (let j = i + 1; j < r.k; j++) {
        const key = `${r.comparisonId}\u0000${i}\u0000${j}`;
        const m = judgments.get(key) ?? new Map<string, number>();
        m.set(r.userId, Math.sign(ranks[i] - ranks[j]));
        judgments.set(key, m);
      }
    }
  }
  return (comparisonId: string, chosen: number, rejected: number): number => {
    const [i, j] = chosen < rejected ? [chosen, rejected] : [rejected, chosen];
    const m = judgments.get(`${comparisonId}\u0000${i}\u0000${j}`);
    if (!m || m.size === 0) return NaN;
    const want = chosen < rejected ? -1 : 1;
    let n = 0;
    for (const v of m.values()) if (v === want) n++;
    return n / m.size;
  };
}

const isEmptyContent = (c: Content) => (typeof c === 'string' ? c.trim() === '' : c.every((m) => m.content.trim() === ''));

async function readLabelingPairs(store: Store, ref: Extract<SourceRef, { kind: 'labeling' }>, uri: string, field: string): Promise<LoadedPreferencePairs> {
  const db = store.db;
  let project;
  try {
    project =
      (await db.selectFrom('projects').selectAll().where('id', '=', ref.project).executeTakeFirst()) ??
      (await (async () => {
        const named = await db.selectFrom('projects').selectAll().where('name', '=', ref.project).orderBy('created_at').execute();
        if (named.length > 1) {
          throw new PreferenceSourceError('INVALID_ARGUMENT', field, `${named.length} labeling projects are named ${JSON.stringify(ref.project)}; use an id: ${named.map((p) => p.id).join(', ')}`);
        }
        return named[0];
      })());
  } catch (e) {
    if (e instanceof PreferenceSourceError) throw e;
    const msg = (e as Error).message;
    if (/no such table|does not exist/i.test(msg)) {
      throw new PreferenceSourceError('NOT_FOUND', field, `the database at ${store.location} has no labeling tables (has the labeling app run on it?)`, { cause: e });
    }
    throw new PreferenceSourceError('UNAVAILABLE', field, `cannot read the labeling database at ${store.location} (${msg})`, { cause: e });
  }
  if (!project) throw new PreferenceSourceError('NOT_FOUND', field, `labeling project ${JSON.stringify(ref.project)} not found (by id or name) in the database at ${store.location}`);
  const round = ref.round === 'current' ? project.current_round : ref.round;

  // As exportPairs: agreement from every ranking of the project (and round), then the pairs in (created_at, id) order.
  let rq = db.selectFrom('rankings').select(['comparison_id', 'user_id', 'ranking']).where('project_id', '=', project.id);
  if (round !== null) rq = rq.where('round', '=', round);
  const support = pairSupport((await rq.execute()).map((r) => ({ comparisonId: r.comparison_id, userId: r.user_id, k: project.k, ranking: JSON.parse(r.ranking) as number[][] })));
  let q = db
    .selectFrom('preference_pairs as p')
    .innerJoin('comparisons as c', 'c.id', 'p.comparison_id')
    .innerJoin('users as u', 'u.id', 'p.user_id')
    .select(['p.id', 'p.comparison_id', 'p.round', 'p.user_id', 'c.prompt_kind', 'c.prompt', 'c.responses', 'p.chosen_index', 'p.rejected_index', 'p.margin', 'p.strength'])
    .where('p.project_id', '=', project.id);
  if (round !== null) q = q.where('p.round', '=', round);
  const rows = await q.orderBy('p.created_at').orderBy('p.id').execute();

  const pairs: SourcedPreference[] = [];
  const skipped = { identical: 0, empty: 0 };
  let exported = 0;
  for (const r of rows) {
    const agreement = support(r.comparison_id, r.chosen_index, r.rejected_index);
    if (ref.minAgreement !== null && !(agreement >= ref.minAgreement)) continue;
    exported++;
    const responses = JSON.parse(r.responses) as string[];
    const [chosenText, rejectedText] = [responses[r.chosen_index], responses[r.rejected_index]];
    const messages = r.prompt_kind === 'messages';
    // The TRL record of the export (toTrlRecord): conversational for a chat prompt, standard otherwise.
    const rec: SourcedPreference = messages
      ? { line: exported, kind: 'conversational', prompt: JSON.parse(r.prompt), chosen: [{ role: 'assistant', content: chosenText }], rejected: [{ role: 'assistant', content: rejectedText }] }
      : { line: exported, kind: 'standard', prompt: r.prompt, chosen: chosenText, rejected: rejectedText };
    if (isEmptyContent(rec.chosen) || isEmptyContent(rec.rejected)) {
      skipped.empty++;
      continue;
    }
    if (chosenText === rejectedText) {
      skipped.identical++;
      continue;
    }
    if (r.margin !== null) rec.margin = r.margin;
    rec.labeling = { pairId: r.id, comparisonId: r.comparison_id, annotatorId: r.user_id, round: r.round, agreement, strength: r.strength };
    pairs.push(rec);
  }
  return {
    pairs,
    source: { kind: 'labeling', uri, projectId: project.id, projectName: project.name, round, minAgreement: ref.minAgreement, dialect: store.dialect, database: store.location, exported, skipped },
  };
}
