// Where an SFT job's inputs come from: the base model (a local folder as always, else a model-store version pulled
// into TUNELOOP_HOME/cache/models), the init adapter (a local PEFT folder or a store adapter, via @tuneloop/jobs'
// resolveModel / resolveAdapter) and the dataset file (a path, or store://<dataset>@<version>/<file> fetched whole,
// SHA-256 checked, into TUNELOOP_HOME/cache/datasets). StartTraining's validation and the worker thread both use them.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { readJsonFile } from '@tuneloop/files';
import { fetchDatasetFile, resolveAdapter, resolveBaseDir, resolveModel, type BaseInfo, type Ref, type ResolvedFolder } from '@tuneloop/jobs';
import { parseHeader, readHeaderLength, type HeaderEntry } from '@tuneloop/model';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, detectMethod, llamaShapes, shapeConfigFromJson, type LinearShape, type ModelShapes, type PeftMethod } from '@tuneloop/peft';
import { InvalidArgumentError, NotFoundError, UnavailableError } from '@tuneloop/service-kit';
import { parseSourceUri } from '@tuneloop/store';

/** Largest dataset file accepted (it is read whole). */
export const MAX_DATASET_BYTES = 256 * 1024 * 1024;

/** The model store's gRPC target (a function: in-process, the port is known only once the server listens). */
export type StoreTarget = () => string | undefined;

/** A store:// dataset file, pinned: the version resolved at StartTraining and the file's SHA-256. */
export interface StoreDataset {
  name: string;
  version: string;
  path: string;
  sha256: string;
}

const isPathLike = (name: string) => path.isAbsolute(name) || name.includes('/') || name.startsWith('.');

/**
 * The base model folder. A path, or a name whose folder exists under TUNELOOP_HOME/models (`<name>` or
 * `<name>@<version>`), is used in place as always (readBase reports a missing config.json); any other name is a
 * model of the model store, pulled (pinned version: `stored`). NOT_FOUND names `spec.base_model`.
 */
export async function resolveBase(home: string, ref: Ref, storeTarget?: StoreTarget): Promise<ResolvedFolder> {
  const dir = resolveBaseDir(home, ref.name, ref.version);
  const target = storeTarget?.();
  if (isPathLike(ref.name) || existsSync(path.join(dir, 'config.json')) || !target) return { dir };
  try {
    return await resolveModel(home, ref, () => target, 'spec.base_model');
  } catch (e) {
    if (e instanceof NotFoundError) {
      throw new NotFoundError(`spec.base_model: no model folder at ${dir} (config.json missing), and no model ${ref.name}@${ref.version || 'latest'} in the model store`);
    }
    throw e;
  }
}

/** The init adapter: its folder (local, or pulled from the store: `stored` is the pinned ref), method and config. */
export interface InitAdapter extends ResolvedFolder {
  method: string;
  config: Record<string, unknown>;
}

/**
 * Resolves `spec.init_adapter` and checks it fits `base`: a PEFT folder of a registered method whose target modules
 * exist in the base and whose tensors name modules of the base with matching dimensions (from the safetensors header
 * alone: nothing is loaded). Errors name `spec.init_adapter`.
 */
export async function resolveInitAdapter(home: string, ref: Ref, storeTarget: StoreTarget | undefined, base: BaseInfo): Promise<InitAdapter> {
  const field = 'spec.init_adapter';
  if (!ref.name) throw new InvalidArgumentError(field, 'name: must name a PEFT adapter folder or a model-store adapter (name@version)');
  const folder = await resolveAdapter(home, ref, storeTarget ?? (() => undefined), field);
  const at = folder.stored ? `${folder.stored.name}@${folder.stored.version}` : folder.dir;
  const cfg = await readJsonFile(folder.dir, ADAPTER_CONFIG_FILE);
  if (!cfg) throw new InvalidArgumentError(field, `${at} has no ${ADAPTER_CONFIG_FILE}`);
  let method: PeftMethod<object>;
  let config: Record<string, unknown>;
  try {
    method = detectMethod(cfg);
    config = method.fromAdapterConfig(cfg) as Record<string, unknown>;
  } catch (e) {
    throw new InvalidArgumentError(field, `${at}/${ADAPTER_CONFIG_FILE}: ${(e as Error).message}`);
  }
  const shapes = llamaShapes(shapeConfigFromJson(base.hfConfig));
  try {
    method.plan(shapes, config);
  } catch (e) {
    throw new InvalidArgumentError(field, `${at} does not fit the base model: ${(e as Error).message}`);
  }
  const problem = await tensorMismatch(path.join(folder.dir, ADAPTER_WEIGHTS_FILE), shapes);
  if (problem) throw new InvalidArgumentError(field, `${at} does not fit the base model: ${problem}`);
  return { ...folder, method: method.name, config };
}

/** PEFT's tensor layouts on a linear [out, in]: a full weight, LoRA-family A [r, in] and B [out, r] (undefined: any). */
const LINEAR_DIMS: Record<string, (l: LinearShape) => (number | undefined)[]> = {
  weight: (l) => [l.outFeatures, l.inFeatures],
  'lora_A.weight': (l) => [undefined, l.inFeatures],
  'lora_B.weight': (l) => [l.outFeatures, undefined],
};

/** The safetensors header's entries (name, dtype, shape), read without the data. */
async function headerEntries(file: string): Promise<HeaderEntry[]> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const prefix = new Uint8Array(8);
    await fh.read(prefix, 0, 8, 0);
    const n = readHeaderLength(prefix);
    const header = new Uint8Array(n);
    await fh.read(header, 0, n, 8);
    return parseHeader(header, size - 8 - n).entries;
  } finally {
    await fh.close();
  }
}

/** The first adapter tensor that names no module of the base, or whose dimensions disagree with it (undefined: fits). */
async function tensorMismatch(file: string, shapes: ModelShapes): Promise<string | undefined> {
  let entries: HeaderEntry[];
  try {
    entries = await headerEntries(file);
  } catch (e) {
    return `${ADAPTER_WEIGHTS_FILE}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (e as Error).message}`;
  }
  const linears = new Map(shapes.linears.map((l) => [l.name, l]));
  const others = new Map(shapes.others.map((o) => [o.name, o.numel]));
  for (const e of entries) {
    // "base_model.<tensor>" without ".model.": a method's shared tensor (VeRA's projections), checked when loaded
    if (e.name.startsWith('base_model.') && !e.name.startsWith('base_model.model.')) continue;
    const parts = e.name.replace(/^base_model\.model\./, '').split('.');
    // "<module>.<tensor...>": the longest module path of the base the key starts with
    let i = parts.length - 1;
    while (i > 0 && !linears.has(parts.slice(0, i).join('.')) && !others.has(parts.slice(0, i).join('.'))) i--;
    if (i === 0) return `tensor '${e.name}' names no module of the base model`;
    const module = parts.slice(0, i).join('.');
    const tensor = parts.slice(i).join('.');
    const l = linears.get(module);
    const want = l ? LINEAR_DIMS[tensor]?.(l) : undefined;
    if (want && (want.length !== e.shape.length || want.some((d, k) => d !== undefined && d !== e.shape[k]))) {
      return `tensor '${e.name}' has shape [${e.shape}], the base's ${module} needs [${want.map((d) => d ?? '*')}]`;
    }
    const numel = e.shape.reduce((a, b) => a * b, 1);
    if (!l && tensor === 'weight' && numel !== others.get(module)) return `tensor '${e.name}' has ${numel} values, the base's ${module} has ${others.get(module)}`;
  }
  return undefined;
}

/** A dataset file to read: where it is on disk, the label line errors use, and the pinned store file if any. */
export interface DatasetSource {
  path: string;
  label: string;
  store?: StoreDataset;
}

function storeFailure(shown: string, err: unknown): Error {
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  const detail = typeof e.details === 'string' && e.details ? e.details : String(e.message ?? err);
  if (e.code === status.NOT_FOUND) return new NotFoundError(`dataset.uri: ${shown}: ${detail}`);
  if (e.code === status.INVALID_ARGUMENT) return new InvalidArgumentError('dataset.uri', `${shown}: ${detail}`);
  return new UnavailableError(`dataset.uri: ${shown}: model store: ${detail}`, { cause: err });
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const cachePathOf = (home: string, d: { name: string; version: string; path: string }) => path.join(home, 'cache', 'datasets', `${d.name}@${d.version}`, d.path);

/** Fetches a store dataset file (SHA-256 checked by the fetch) into TUNELOOP_HOME/cache/datasets, written atomically. */
async function fetchToCache(home: string, target: string, ref: { name: string; version?: string; path?: string }, shown: string): Promise<DatasetSource> {
  let got;
  try {
    got = await fetchDatasetFile(target, ref, { maxBytes: MAX_DATASET_BYTES });
  } catch (e) {
    throw storeFailure(shown, e);
  }
  const store: StoreDataset = { name: got.name, version: got.version, path: got.path, sha256: sha256(got.data) };
  const file = cachePathOf(home, store);
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.part-${process.pid}-${Date.now()}`;
  await writeFile(tmp, got.data);
  await rename(tmp, file).catch(async (e) => {
    await rm(tmp, { force: true });
    throw e;
  });
  return { path: file, label: `${store.name}@${store.version}/${store.path}`, store };
}

/**
 * `dataset.uri`: a file path (absolute, or relative to TUNELOOP_HOME) as always, or store://<dataset>@<version>/<file>
 * (@tuneloop/store's URI syntax; version and file may be left out: the newest version, its only JSONL file), fetched
 * now and pinned. Any other scheme is INVALID_ARGUMENT.
 */
export async function resolveDataset(home: string, uri: string, storeTarget?: StoreTarget): Promise<DatasetSource> {
  if (!uri) throw new InvalidArgumentError('dataset.uri', 'must name a JSONL file');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
  if (!scheme) {
    const file = path.isAbsolute(uri) ? uri : path.resolve(home, uri);
    return { path: file, label: path.basename(file) };
  }
  if (scheme !== 'store') throw new InvalidArgumentError('dataset.uri', `only file paths and store://<dataset>@<version>/<file> are supported, got ${JSON.stringify(uri)}`);
  let ref;
  try {
    ref = parseSourceUri(uri, 'dataset.uri');
  } catch (e) {
    throw new InvalidArgumentError('dataset.uri', (e as Error).message.replace(/^dataset\.uri: /, ''));
  }
  if (ref.kind !== 'store') throw new InvalidArgumentError('dataset.uri', `not a store:// URI: ${JSON.stringify(uri)}`);
  const target = storeTarget?.();
  if (!target) throw new InvalidArgumentError('dataset.uri', `${uri}: no model store is configured (TUNELOOP_MODEL_STORE_ADDR)`);
  return fetchToCache(home, target, ref, uri);
}

/** The worker's copy of a pinned store dataset: the cached file when its SHA-256 matches, else fetched again. */
export async function storeDatasetFile(home: string, d: StoreDataset, storeTarget: StoreTarget): Promise<DatasetSource> {
  const file = cachePathOf(home, d);
  const label = `${d.name}@${d.version}/${d.path}`;
  if (existsSync(file) && sha256(await readFile(file)) === d.sha256) return { path: file, label, store: d };
  const target = storeTarget();
  if (!target) throw new Error(`dataset.uri: store://${label}: no model store is configured (TUNELOOP_MODEL_STORE_ADDR)`);
  const got = await fetchToCache(home, target, d, `store://${label}`);
  if (got.store!.sha256 !== d.sha256) throw new Error(`dataset.uri: store://${label}: the stored file changed since the job was started (SHA-256 ${got.store!.sha256}, expected ${d.sha256})`);
  return got;
}
