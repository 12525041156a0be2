// Policies of the rollout service: a PolicyRef (base ModelRef + optional AdapterRef) resolves either to a model
// folder under TUNELOOP_HOME/models (the folder form: base name without a version or adapter, when the folder
// exists) or to pinned versions in the model store. Store versions are pulled once into a disk cache
// (TUNELOOP_HOME/cache/rollout, sha256-checked, written to a temporary folder and renamed, so processes sharing
// a home never see half a download) and loaded once per worker process (an in-memory cache of a few policies).
// Adapter folders of the disk cache are pruned to the most recently used few (base model folders stay).
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { CausalLM, ModelConfig, Tokenizer } from '@tuneloop/model';
import type { AdapterInfo, FileEntry, ModelInfo, ModelStoreServiceClient, PolicyRef } from '@tuneloop/proto';
import { InvalidArgumentError, NotFoundError, UnavailableError } from '@tuneloop/service-kit';
import { z } from 'zod';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const STORE_CALL_MS = 5 * 60_000;
/** Adapter folders kept in the disk cache by default (TUNELOOP_ROLLOUT_ADAPTER_CACHE). */
export const ADAPTER_CACHE_DEFAULT = 16;
/** A folder still being written (`.tmp-`, renamed into place when complete) or being deleted (`.trash-`). */
const PARTIAL_RE = /\.(tmp|trash)-\d+-[0-9a-f]{8}$/;

const RefSchema = z.object({ name: z.string().regex(NAME_RE), version: z.string().min(1) });
/** What a job carries: a model folder, or pinned store versions. */
export const PolicySpecSchema = z.union([
  z.object({ kind: z.literal('folder'), modelDir: z.string().min(1) }),
  z.object({ kind: z.literal('store'), base: RefSchema, adapter: RefSchema.optional() }),
]);
export type PolicySpec = z.infer<typeof PolicySpecSchema>;

/** Cache key of a policy (same key = same weights). */
export function policyKey(p: PolicySpec): string {
  return p.kind === 'folder' ? `dir:${path.resolve(p.modelDir)}` : `store:${p.base.name}@${p.base.version}${p.adapter ? `+${p.adapter.name}@${p.adapter.version}` : ''}`;
}

export function policyLabel(p: PolicySpec): string {
  return p.kind === 'folder' ? p.modelDir : policyKey(p).slice('store:'.length);
}

function storeError(field: string, what: string, err: unknown): Error {
  const e = err as Partial<ServiceError>;
  if (e.code === status.NOT_FOUND) return new NotFoundError(`${field}: ${what}: ${e.details ?? e.message}`);
  if (e.code === status.INVALID_ARGUMENT) return new InvalidArgumentError(field, `${what}: ${e.details ?? e.message}`);
  if (typeof e.code === 'number') return new UnavailableError(`model store: ${what}: ${status[e.code] ?? e.code}: ${e.details ?? e.message}`);
  return err instanceof Error ? err : new Error(String(err));
}

function unary<Req, Res>(c: ModelStoreServiceClient, method: (req: Req, md: Metadata, opts: { deadline: Date }, cb: (e: ServiceError | null, r: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => method.call(c, req, new Metadata(), { deadline: new Date(Date.now() + STORE_CALL_MS) }, (e, r) => (e ? reject(e) : resolve(r))));
}

async function findAdapter(c: ModelStoreServiceClient, name: string, version: string): Promise<AdapterInfo | undefined> {
  let pageToken = '';
  do {
    const res = await unary(c, c.listAdapters, { baseModelName: '', pageSize: 1000, pageToken });
    // listed by name, newest first: the first hit of the name is the latest version
    const hit = res.adapters.find((a) => a.ref?.name === name && (!version || a.ref?.version === version));
    if (hit) return hit;
    pageToken = res.nextPageToken;
  } while (pageToken);
  return undefined;
}

/**
 * Resolves a request's policy: an absolute path is a model folder; the folder form when the base has no version and no adapter is asked for and
 * TUNELOOP_HOME/models/<name>/config.json exists; otherwise the model store, with versions pinned (an empty
 * version is the latest; an adapter without a base version uses the base it was trained on).
 */
export async function resolvePolicy(home: string, ref: PolicyRef | undefined, store: () => ModelStoreServiceClient): Promise<PolicySpec> {
  const name = ref?.base?.name ?? '';
  const version = ref?.base?.version ?? '';
  const adapter = ref?.adapter?.name ? { name: ref.adapter.name, version: ref.adapter.version ?? '' } : undefined;
  if (path.isAbsolute(name)) {
    // a model folder on the service's machine (as the adapter trainer accepts; the CLI sends local folders so)
    if (version || adapter) throw new InvalidArgumentError(version ? 'policy.base.version' : 'policy.adapter', 'a model folder takes no version or adapter (use the model store)');
    if (!existsSync(path.join(name, 'config.json'))) throw new NotFoundError(`policy.base.name: no model folder at ${name} (config.json missing)`);
    return { kind: 'folder', modelDir: name };
  }
  if (!NAME_RE.test(name)) throw new InvalidArgumentError('policy.base.name', `must be a model name or an absolute folder path, got ${JSON.stringify(name)}`);
  if (version && !/^[A-Za-z0-9._-]{1,128}$/.test(version)) throw new InvalidArgumentError('policy.base.version', `must be a version, got ${JSON.stringify(version)}`);
  if (adapter && !NAME_RE.test(adapter.name)) throw new InvalidArgumentError('policy.adapter.name', `must be an adapter name, got ${JSON.stringify(adapter.name)}`);
  const dir = path.join(home, 'models', name);
  if (!version && !adapter && existsSync(path.join(dir, 'config.json'))) return { kind: 'folder', modelDir: dir };
  const c = store();
  try {
    let baseVersion = version;
    let pinnedAdapter: { name: string; version: string } | undefined;
    if (adapter) {
      const a = await findAdapter(c, adapter.name, adapter.version).catch((e) => {
        throw storeError('policy.adapter', `looking up adapter ${adapter.name}`, e);
      });
      if (!a) throw new NotFoundError(`policy.adapter: no adapter ${adapter.name}${adapter.version ? `@${adapter.version}` : ''} in the model store`);
      const trainedOn = a.baseModel!;
      if (trainedOn.name !== name || (version && trainedOn.version !== version)) {
        throw new InvalidArgumentError('policy.adapter', `${a.ref!.name}@${a.ref!.version} was trained on ${trainedOn.name}@${trainedOn.version}, not ${name}${version ? `@${version}` : ''}`);
      }
      baseVersion = trainedOn.version;
      pinnedAdapter = { name: a.ref!.name, version: a.ref!.version };
    }
    const m = await unary(c, c.describeModel, { ref: { name, version: baseVersion } }).catch((e) => {
      const err = storeError('policy.base', `model ${name}${baseVersion ? `@${baseVersion}` : ''}`, e);
      if ((err instanceof NotFoundError || (e as ServiceError).code === status.UNIMPLEMENTED) && !version && !adapter) {
        throw new NotFoundError(`policy.base.name: no model '${name}' under ${path.join(home, 'models')} or in the model store`);
      }
      throw err;
    });
    return { kind: 'store', base: { name, version: m.model!.ref!.version }, ...(pinnedAdapter ? { adapter: pinnedAdapter } : {}) };
  } finally {
    c.close();
  }
}

const sideName = (dir: string, kind: 'tmp' | 'trash') => `${dir}.${kind}-${process.pid}-${randomUUID().slice(0, 8)}`;
const errCode = (err: unknown) => (err as NodeJS.ErrnoException | undefined)?.code;

async function sha256File(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(p)) h.update(c as Buffer);
  return h.digest('hex');
}

/** Downloads every file into `dest` (a temporary folder, then renamed) unless it is there already. */
async function pullFolder(dest: string, files: FileEntry[], get: (file: string) => ClientReadableStream<{ chunk?: { offset: number; data: Uint8Array } }>): Promise<string> {
  if (existsSync(path.join(dest, '.complete'))) return dest;
  const tmp = sideName(dest, 'tmp');
  await mkdir(tmp, { recursive: true });
  try {
    for (const f of files) {
      const file = path.join(tmp, f.path);
      const fh = await open(file, 'w');
      try {
        for await (const msg of get(f.path) as AsyncIterable<{ chunk?: { offset: number; data: Uint8Array } }>) {
          if (msg.chunk) await fh.write(msg.chunk.data, 0, msg.chunk.data.length, Number(msg.chunk.offset));
        }
      } finally {
        await fh.close();
      }
      if ((await stat(file)).size !== Number(f.size) || (await sha256File(file)) !== f.sha256) throw new Error(`${f.path}: downloaded data does not match sha256 ${f.sha256}`);
    }
    await open(path.join(tmp, '.complete'), 'w').then((h) => h.close());
    await rename(tmp, dest).catch(async (err: NodeJS.ErrnoException) => {
      if (!existsSync(path.join(dest, '.complete'))) throw err; // another process finished first: use its copy
    });
    return dest;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** TUNELOOP_ROLLOUT_ADAPTER_CACHE: adapter folders kept in the disk cache, an integer >= 1 (default 16). */
export function adapterCacheLimitFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const name = 'TUNELOOP_ROLLOUT_ADAPTER_CACHE';
  const raw = env[name];
  if (raw === undefined || raw === '') return ADAPTER_CACHE_DEFAULT;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: must be an integer >= 1, got ${JSON.stringify(raw)}`);
  return v;
}

/** Where a store policy's folders live in the disk cache. */
export function policyCacheDirs(home: string, p: Extract<PolicySpec, { kind: 'store' }>): { baseDir: string; adapterDir?: string } {
  const root = path.join(home, 'cache', 'rollout');
  const baseDir = path.join(root, 'models', `${p.base.name}@${p.base.version}`);
  return p.adapter ? { baseDir, adapterDir: path.join(root, 'adapters', `${p.adapter.name}@${p.adapter.version}`) } : { baseDir };
}

/** Adapter folders this process has pulled and not yet read into memory: its own pruning leaves them alone. */
const adapterReads = new Map<string, number>();

function holdAdapterDir(adapterDir: string): () => void {
  const dir = path.resolve(adapterDir);
  adapterReads.set(dir, (adapterReads.get(dir) ?? 0) + 1);
  return () => {
    const n = (adapterReads.get(dir) ?? 1) - 1;
    if (n > 0) adapterReads.set(dir, n);
    else adapterReads.delete(dir);
  };
}

/**
 * Keeps at most `limit` completed adapter folders in `adaptersDir` (cache/rollout/adapters), removing the least
 * recently used (folder mtime, touched on every use). Never removes `keep` (the folder just used) or a folder this
 * process is reading; folders still being written (`.tmp-`) are not candidates. A folder is renamed to a `.trash-`
 * name before it is deleted, so a concurrent pull of the same version never meets a half-deleted folder. A folder
 * that disappears meanwhile (another process sharing the home pruned it) is skipped; a failed delete is a warning,
 * never an error. Returns the names removed.
 */
export async function pruneAdapterCache(adaptersDir: string, keep: string, limit: number): Promise<string[]> {
  const root = path.resolve(adaptersDir);
  const held = new Set([keep, ...adapterReads.keys()].map((d) => path.resolve(d)));
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const candidates: { name: string; used: number }[] = [];
  let kept = 0;
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const dir = path.join(root, e.name);
    if (PARTIAL_RE.test(e.name)) {
      // being written (left alone) or left half-deleted by a process that died mid-delete
      if (e.name.includes('.trash-')) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      continue;
    }
    const st = await stat(dir).catch(() => null);
    if (!st || !existsSync(path.join(dir, '.complete'))) continue;
    if (held.has(dir)) kept++;
    else candidates.push({ name: e.name, used: st.mtimeMs });
  }
  candidates.sort((x, y) => y.used - x.used || x.name.localeCompare(y.name)); // most recently used first
  const removed: string[] = [];
  for (const { name } of candidates.slice(Math.max(0, limit - kept))) {
    const dir = path.join(root, name);
    const trash = sideName(dir, 'trash');
    try {
      await rename(dir, trash);
    } catch (err) {
      if (errCode(err) !== 'ENOENT') process.emitWarning(`rollout cache: cannot remove ${dir}: ${(err as Error).message}`);
      continue;
    }
    removed.push(name);
    await rm(trash, { recursive: true, force: true }).catch((err: Error) => process.emitWarning(`rollout cache: cannot delete ${trash}: ${err.message}`));
  }
  return removed;
}

/**
 * Local folders of a store policy, pulled into TUNELOOP_HOME/cache/rollout when missing. The adapter folder is
 * then marked used and the cache pruned to `adapterFolders` adapter folders (see pruneAdapterCache).
 */
export async function pullPolicy(home: string, p: Extract<PolicySpec, { kind: 'store' }>, client: ModelStoreServiceClient, adapterFolders = ADAPTER_CACHE_DEFAULT): Promise<{ baseDir: string; adapterDir?: string }> {
  const root = path.join(home, 'cache', 'rollout');
  await mkdir(path.join(root, 'models'), { recursive: true });
  await mkdir(path.join(root, 'adapters'), { recursive: true });
  const { baseDir, adapterDir } = policyCacheDirs(home, p);
  if (!existsSync(path.join(baseDir, '.complete'))) {
    const info: ModelInfo = (await unary(client, client.describeModel, { ref: p.base }).catch((e) => { throw storeError('policy.base', `model ${p.base.name}@${p.base.version}`, e); })).model!;
    await pullFolder(baseDir, info.files, (file) => client.getModel({ ref: p.base, path: file, offset: 0, chunkSize: 0 }));
  }
  if (!p.adapter) return { baseDir };
  const a = p.adapter;
  if (!existsSync(path.join(adapterDir!, '.complete'))) {
    const info = await findAdapter(client, a.name, a.version).catch((e) => { throw storeError('policy.adapter', `adapter ${a.name}@${a.version}`, e); });
    if (!info) throw new NotFoundError(`policy.adapter: no adapter ${a.name}@${a.version} in the model store`);
    await pullFolder(adapterDir!, info.files, (file) => client.getAdapter({ ref: a, path: file, offset: 0, chunkSize: 0 }));
  }
  const now = new Date();
  await utimes(adapterDir!, now, now).catch(() => undefined); // pruned meanwhile by another process: the reader pulls it again
  await pruneAdapterCache(path.dirname(adapterDir!), adapterDir!, adapterFolders).catch((err: Error) => process.emitWarning(`rollout cache: pruning failed: ${err.message}`));
  return { baseDir, adapterDir };
}

const SHAPE_FILES = new Set(['config.json', 'tokenizer.json', 'tokenizer_config.json']);

/** Only config.json and the tokenizer files of a store model (what request validation needs), cached on disk. */
export async function pullShape(home: string, p: Extract<PolicySpec, { kind: 'store' }>, client: ModelStoreServiceClient): Promise<string> {
  const full = path.join(home, 'cache', 'rollout', 'models', `${p.base.name}@${p.base.version}`);
  if (existsSync(path.join(full, '.complete'))) return full;
  const dest = path.join(home, 'cache', 'rollout', 'shapes', `${p.base.name}@${p.base.version}`);
  await mkdir(path.dirname(dest), { recursive: true });
  if (existsSync(path.join(dest, '.complete'))) return dest;
  const info = (await unary(client, client.describeModel, { ref: p.base }).catch((e) => { throw storeError('policy.base', `model ${p.base.name}@${p.base.version}`, e); })).model!;
  return pullFolder(dest, info.files.filter((f) => SHAPE_FILES.has(f.path)), (file) => client.getModel({ ref: p.base, path: file, offset: 0, chunkSize: 0 }));
}

/** config.json and the tokenizer of a model folder (no weights): what request validation needs. */
export async function readShape(dir: string): Promise<{ config: ModelConfig; tokenizer: Tokenizer }> {
  const [{ readJsonFile }, { modelConfigFromHf, tokenizerFromFiles }] = await Promise.all([import('@tuneloop/files'), import('@tuneloop/model')]);
  const raw = await readJsonFile(dir, 'config.json');
  if (!raw) throw new NotFoundError(`policy.base: no config.json in ${dir}`);
  const tokenizerJson = await readJsonFile(dir, 'tokenizer.json');
  if (!tokenizerJson) throw new InvalidArgumentError('policy.base', `model folder ${dir} has no tokenizer.json`);
  return { config: modelConfigFromHf(raw), tokenizer: tokenizerFromFiles({ tokenizerJson, tokenizerConfig: await readJsonFile(dir, 'tokenizer_config.json') }) };
}

export interface LoadedPolicy {
  model: CausalLM;
  tokenizer: Tokenizer;
}

/** The files of a PEFT adapter folder, read whole: once they are in memory the folder is not needed again. */
export interface AdapterBytes {
  dir: string;
  config: string;
  weights: Uint8Array;
}

export async function readAdapterFolder(dir: string): Promise<AdapterBytes> {
  return { dir, config: await readFile(path.join(dir, 'adapter_config.json'), 'utf8'), weights: new Uint8Array(await readFile(path.join(dir, 'adapter_model.safetensors'))) };
}

/** Builds the model of a policy's local folders: the base (plain or quantized) with the adapter (a folder, or its files read) merged in. */
export async function loadPolicyFolders(baseDir: string, adapter?: string | AdapterBytes): Promise<LoadedPolicy> {
  const [{ loadStoredModel }, { decodeAdapterFiles, loadAdapter }] = await Promise.all([import('@tuneloop/model-store'), import('@tuneloop/peft')]);
  const { tokenizer } = await readShape(baseDir);
  const { model } = await loadStoredModel(baseDir);
  if (!adapter) return { model, tokenizer };
  const adapterDir = typeof adapter === 'string' ? adapter : adapter.dir;
  try {
    const bytes = typeof adapter === 'string' ? await readAdapterFolder(adapter) : adapter;
    const files = decodeAdapterFiles(bytes.config, bytes.weights);
    const pm = loadAdapter(model, files);
    try {
      pm.mergeAndUnload(); // generation runs on merged dense weights
    } catch {
      // methods without a mergeable adapter run unmerged
    }
    return { model, tokenizer };
  } catch (err) {
    model.dispose();
    throw new InvalidArgumentError('policy.adapter', `cannot apply the adapter in ${adapterDir}: ${(err as Error).message}`);
  }
}

/**
 * A worker's policies: loaded once and kept; beyond `max`, the least recently used one that no caller is using
 * is disposed. `storeClient` is made on first need (a worker serving only folder policies never dials the store).
 */
export class PolicyCache {
  private readonly loaded = new Map<string, { p: Promise<LoadedPolicy>; users: number }>();
  private client: ModelStoreServiceClient | undefined;
  private readonly adapterFolders: number;
  /** `adapterFolders`: adapter folders kept in the disk cache; default TUNELOOP_ROLLOUT_ADAPTER_CACHE (validated here, at worker start) or 16. */
  constructor(private readonly o: { home: string; storeClient: () => ModelStoreServiceClient; max: number; adapterFolders?: number }) {
    this.adapterFolders = o.adapterFolders ?? adapterCacheLimitFromEnv();
  }

  /** Runs `fn` with the loaded policy; it is not disposed while `fn` runs. */
  async use<T>(p: PolicySpec, fn: (l: LoadedPolicy) => Promise<T>): Promise<T> {
    const key = policyKey(p);
    let e = this.loaded.get(key);
    if (e) this.loaded.delete(key); // re-inserted below: most recently used last
    else {
      const load = this.load(p);
      e = { p: load, users: 0 };
      load.catch(() => this.loaded.get(key)?.p === load && this.loaded.delete(key));
    }
    this.loaded.set(key, e);
    e.users++;
    try {
      return await fn(await e.p);
    } finally {
      e.users--;
      this.evict();
    }
  }

  private async load(p: PolicySpec): Promise<LoadedPolicy> {
    if (p.kind === 'folder') {
      const { loadModel } = await import('@tuneloop/files');
      const m = await loadModel(p.modelDir);
      if (!m.tokenizer) throw new InvalidArgumentError('policy.base', `${p.modelDir} has no tokenizer.json`);
      return { model: m.model, tokenizer: m.tokenizer };
    }
    this.client ??= this.o.storeClient();
    const { adapterDir } = policyCacheDirs(this.o.home, p);
    if (!adapterDir) return loadPolicyFolders((await pullPolicy(this.o.home, p, this.client, this.adapterFolders)).baseDir);
    // the adapter's files are read into memory right after the pull (this process's pruning leaves the folder alone
    // until then); another process sharing the home may still prune it in between: then it is pulled again
    const release = holdAdapterDir(adapterDir);
    try {
      for (let attempt = 1; ; attempt++) {
        const dirs = await pullPolicy(this.o.home, p, this.client, this.adapterFolders);
        const bytes = await readAdapterFolder(adapterDir).catch((err: unknown) => {
          if (errCode(err) !== 'ENOENT') throw new InvalidArgumentError('policy.adapter', `cannot read the adapter in ${adapterDir}: ${(err as Error).message}`);
          if (attempt < 3) return undefined;
          throw new UnavailableError(`policy.adapter: ${adapterDir} was removed from the cache ${attempt} times while being loaded`);
        });
        if (bytes) return await loadPolicyFolders(dirs.baseDir, bytes);
      }
    } finally {
      release();
    }
  }

  private evict(): void {
    for (const [key, e] of this.loaded) {
      if (this.loaded.size <= this.o.max) return;
      if (e.users > 0) continue;
      this.loaded.delete(key);
      void e.p.then((l) => l.model.dispose(), () => undefined);
    }
  }

  async close(): Promise<void> {
    for (const e of this.loaded.values()) (await e.p.catch(() => null))?.model.dispose();
    this.loaded.clear();
    this.client?.close();
  }
}
