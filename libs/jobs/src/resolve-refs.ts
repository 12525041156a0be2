// Where a job's models come from (adapter-trainer, preference-optimizer, ...): a base model, an init adapter or a
// reward model named by a store ref (name@version) or a local folder. Local folders (absolute, relative to
// TUNELOOP_HOME, or TUNELOOP_HOME/models/<name>) are used in place; anything else is pulled from the model store
// (gRPC) into TUNELOOP_HOME/cache/<kind>/<name>@<version>, each file checked against its SHA-256, once per worker
// (models with pullModel; adapters here, a `.complete` marker written last).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { RetryableError } from '@tuneloop/bus';
import type { AdapterInfo, FileEntry, ListAdaptersResponse, ModelStoreServiceClient } from '@tuneloop/proto';
import { InvalidArgumentError, NotFoundError } from '@tuneloop/service-kit';
import { connectStore } from './store-client.ts';
import { describeModel, pullModel } from './store-models.ts';

export interface Ref {
  name: string;
  version: string;
}

export interface ResolvedFolder {
  dir: string;
  /** the pinned store ref when the folder came from the model store */
  stored?: Ref;
}

const RETRYABLE = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED, status.ABORTED, status.INTERNAL, status.UNKNOWN, status.CANCELLED]);
const SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * `fn` again while the model store is unreachable (a RetryableError / UnavailableError), after 1, 2, 4, 8 s: a job
 * thread cannot hand its job back, so a short store restart must not fail it.
 */
export async function withStoreRetry<T>(fn: () => Promise<T>, delaysMs = [1000, 2000, 4000, 8000]): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      const retryable = (e as { retryable?: unknown }).retryable === true || (e as { code?: unknown }).code === status.UNAVAILABLE;
      if (!retryable || i >= delaysMs.length) throw e;
      await new Promise((r) => setTimeout(r, delaysMs[i]));
    }
  }
}

function storeErr(field: string, what: string, err: unknown): Error {
  const e = err as Partial<ServiceError>;
  if (e.code === status.NOT_FOUND) return new NotFoundError(`${field}: ${what}: not in the model store (${e.details ?? ''})`);
  if (e.code === status.INVALID_ARGUMENT) return new InvalidArgumentError(field, `${what}: ${e.details ?? e.message}`);
  const msg = `model store: ${what}: ${typeof e.code === 'number' ? `${status[e.code]}: ` : ''}${e.details || e.message || String(err)}`;
  return typeof e.code === 'number' && RETRYABLE.has(e.code) ? new RetryableError(msg, { cause: err }) : new Error(msg, { cause: err });
}

/** A local folder named by `name` (path, TUNELOOP_HOME-relative path, or `<home>/<sub>/<name>[@version]`), if it exists. */
export function localFolder(home: string, sub: string, ref: Ref, marker: string): string | undefined {
  const { name, version } = ref;
  const candidates = path.isAbsolute(name)
    ? [name]
    : name.includes('/') || name.startsWith('.')
      ? [path.resolve(home, name)]
      : [path.join(home, sub, version ? `${name}@${version}` : name)];
  return candidates.find((d) => existsSync(path.join(d, marker)));
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

/** Downloads `files` of a stored version into `dest` (skips files already there with the right hash). */
async function pullFiles(
  dest: string,
  files: FileEntry[],
  get: (file: string) => AsyncIterable<{ chunk?: { offset: number; data: Uint8Array } }>,
): Promise<void> {
  if (existsSync(path.join(dest, '.complete'))) return;
  const tmp = `${dest}.part-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  for (const f of files) {
    if (!SAFE.test(f.path) || f.path.includes('..')) throw new Error(`model store: unsafe file name ${JSON.stringify(f.path)}`);
    const parts: Uint8Array[] = [];
    for await (const m of get(f.path)) if (m.chunk) parts.push(m.chunk.data);
    const bytes = Buffer.concat(parts);
    await writeFile(path.join(tmp, f.path), bytes);
    if ((await sha256(path.join(tmp, f.path))) !== f.sha256) throw new RetryableError(`model store: ${f.path}: SHA-256 mismatch after download`);
  }
  await writeFile(path.join(tmp, '.complete'), new Date().toISOString() + '\n');
  await mkdir(path.dirname(dest), { recursive: true });
  await rm(dest, { recursive: true, force: true });
  await rename(tmp, dest);
}

/** The base model folder: local, else pulled from the store (quantized store versions are refused). */
export async function resolveModel(home: string, ref: Ref, storeTarget: () => string | undefined, field: string): Promise<ResolvedFolder> {
  const local = localFolder(home, 'models', ref, 'config.json');
  if (local) return { dir: local };
  if (path.isAbsolute(ref.name) || ref.name.includes('/') || ref.name.startsWith('.')) throw new NotFoundError(`${field}: no model folder at ${ref.name} (config.json missing)`);
  const target = storeTarget();
  if (!target) throw new NotFoundError(`${field}: ${ref.name} is not a folder under TUNELOOP_HOME/models and no model store is configured`);
  const info = await describeModel(target, ref.name, ref.version);
  if (!info) throw new NotFoundError(`${field}: model ${ref.name}@${ref.version || 'latest'} is not in the model store`);
  if (info.quantization) throw new InvalidArgumentError(field, `${info.ref!.name}@${info.ref!.version} is a quantized version; optimization jobs need the unquantized base`);
  // the adapter upload links to this version by name (storeAdapter's baseName) + identical files
  return { dir: await pullModel(target, info, path.join(home, 'cache', 'models')), stored: { name: info.ref!.name, version: info.ref!.version } };
}

async function findAdapter(c: ModelStoreServiceClient, ref: Ref): Promise<AdapterInfo | undefined> {
  let pageToken = '';
  let best: AdapterInfo | undefined;
  do {
    const res = await new Promise<ListAdaptersResponse>((resolve, reject) => c.listAdapters({ baseModelName: '', pageSize: 1000, pageToken }, (e, r) => (e ? reject(e) : resolve(r))));
    for (const a of res.adapters) {
      if (a.ref?.name !== ref.name) continue;
      if (ref.version && a.ref.version === ref.version) return a;
      if (!ref.version && (!best || (a.createdAt?.getTime() ?? 0) > (best.createdAt?.getTime() ?? 0))) best = a;
    }
    pageToken = res.nextPageToken;
  } while (pageToken);
  return ref.version ? undefined : best;
}

/**
 * An adapter folder (`adapter_config.json`, or `marker`): local (path or `<home>/<sub>/<name>[/<version>]`), else
 * pulled from the store. Returns the base model the store linked it to, if any.
 */
export async function resolveAdapter(
  home: string,
  ref: Ref,
  storeTarget: () => string | undefined,
  field: string,
  marker = 'adapter_config.json',
): Promise<ResolvedFolder & { baseModel?: Ref }> {
  const local = localFolder(home, 'adapters', ref, marker) ?? (ref.version ? localFolder(home, 'adapters', { name: path.join(ref.name, ref.version), version: '' }, marker) : undefined);
  if (local) return { dir: local };
  if (path.isAbsolute(ref.name) || ref.name.includes('/') || ref.name.startsWith('.')) throw new NotFoundError(`${field}: no adapter folder at ${ref.name} (${marker} missing)`);
  const target = storeTarget();
  if (!target) throw new NotFoundError(`${field}: ${ref.name} is not a local adapter folder and no model store is configured`);
  const c = connectStore(target);
  try {
    const info = await findAdapter(c, ref).catch((e) => {
      throw storeErr(field, `adapter ${ref.name}@${ref.version || 'latest'}`, e);
    });
    if (!info) throw new NotFoundError(`${field}: adapter ${ref.name}@${ref.version || 'latest'} is not in the model store`);
    const pinned = { name: info.ref!.name, version: info.ref!.version };
    if (!info.files.some((f) => f.path === marker)) throw new InvalidArgumentError(field, `${pinned.name}@${pinned.version} has no ${marker}`);
    const dest = path.join(home, 'cache', 'adapters', `${pinned.name}@${pinned.version}`);
    await pullFiles(dest, info.files, (p) => c.getAdapter({ ref: pinned, path: p, offset: 0, chunkSize: 0 }) as AsyncIterable<{ chunk?: { offset: number; data: Uint8Array } }>).catch((e) => {
      throw e instanceof RetryableError ? e : storeErr(field, `pulling adapter ${pinned.name}@${pinned.version}`, e);
    });
    return { dir: dest, stored: pinned, baseModel: info.baseModel ? { name: info.baseModel.name, version: info.baseModel.version } : undefined };
  } finally {
    c.close();
  }
}
