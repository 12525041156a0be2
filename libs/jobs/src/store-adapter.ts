// Hands a finished job's PEFT folder to the model store (tuneloop.v1.ModelStoreService over gRPC): the base model
// folder is imported first unless a stored version holds identical files (or the job's base is a stored version,
// `baseRef`), then UploadAdapter links the adapter to it.
import path from 'node:path';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { RetryableError } from '@tuneloop/bus';
import { connectStore, folderEntries, responseOf, sendFolder } from './store-client.ts';
import type { AdapterInfo, FileEntry, ModelInfo, ModelStoreServiceClient, UploadAdapterRequest, UploadModelRequest } from '@tuneloop/proto';

/** gRPC codes after which a later attempt can succeed (store down, overloaded, restarting). */
const RETRYABLE = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED, status.ABORTED, status.INTERNAL, status.UNKNOWN, status.CANCELLED]);
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const CALL_TIMEOUT_MS = 10 * 60_000;

export interface StoredAdapter {
  name: string;
  version: string;
  baseModel: { name: string; version: string };
  /** true when the base folder was uploaded by this call (no stored version had identical files) */
  baseImported: boolean;
}

export interface StoreAdapterInput {
  /** the local base model folder the job trained on */
  baseDir: string;
  /** the PEFT folder written by the job */
  adapterDir: string;
  /**
   * the store name of the base (default: storeNameOf(baseDir), the folder name); a base pulled with pullModel
   * passes its store name, so the identical stored version is found instead of importing `<name>@<version>` again
   */
  baseName?: string;
  /**
   * the base's pinned store version when the job pulled its base from the model store: the adapter is linked to it
   * as is (no lookup by files, nothing imported); `baseDir` and `baseName` are then not used
   */
  baseRef?: { name: string; version: string };
  /** adapter name and explicit version (the job id: a redelivered job finds its own upload) */
  name: string;
  version: string;
  metrics: Record<string, number>;
}

/** The store's name for a base folder: its folder name, made to fit the store's name rule. */
export function storeNameOf(baseDir: string): string {
  const n = path.basename(path.resolve(baseDir)).replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').replace(/\.\.+/g, '.').slice(0, 128);
  if (!NAME_RE.test(n)) throw new Error(`base model folder ${baseDir}: no usable model-store name in its folder name`);
  return n;
}

const sameFiles = (a: FileEntry[], b: FileEntry[]) =>
  a.length === b.length && a.every((f) => b.some((g) => g.path === f.path && g.sha256 === f.sha256 && Number(g.size) === Number(f.size)));

function deadline(): { deadline: Date } {
  return { deadline: new Date(Date.now() + CALL_TIMEOUT_MS) };
}

/** A store error as the work queue needs it: RetryableError (nak, later attempt) or a plain Error (job fails). */
export function storeError(what: string, err: unknown): Error {
  const e = err as Partial<ServiceError>;
  const code = typeof e.code === 'number' ? `${status[e.code] ?? e.code}: ` : '';
  const msg = `model store: ${what}: ${code}${e.details || e.message || String(err)}`;
  return typeof e.code === 'number' && RETRYABLE.has(e.code) ? new RetryableError(msg, { cause: err }) : new Error(msg, { cause: err });
}

async function call<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw storeError(what, err);
  }
}

function unary<Req, Res>(c: ModelStoreServiceClient, method: (req: Req, md: Metadata, opts: { deadline: Date }, cb: (e: ServiceError | null, r: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => method.call(c, req, new Metadata(), deadline(), (e, r) => (e ? reject(e) : resolve(r))));
}

/** The stored version of `name` whose files equal `files`, or undefined. */
async function findModel(c: ModelStoreServiceClient, name: string, files: FileEntry[]): Promise<ModelInfo | undefined> {
  let pageToken = '';
  do {
    const res = await unary(c, c.listModels, { name, pageSize: 1000, pageToken });
    const hit = res.models.find((m) => sameFiles(m.files, files));
    if (hit) return hit;
    pageToken = res.nextPageToken;
  } while (pageToken);
  return undefined;
}

async function findAdapter(c: ModelStoreServiceClient, baseName: string, name: string, version: string): Promise<AdapterInfo | undefined> {
  let pageToken = '';
  do {
    const res = await unary(c, c.listAdapters, { baseModelName: baseName, pageSize: 1000, pageToken });
    const hit = res.adapters.find((a) => a.ref?.name === name && a.ref?.version === version);
    if (hit) return hit;
    pageToken = res.nextPageToken;
  } while (pageToken);
  return undefined;
}

/** Imports the base folder into the store (unless it is `baseRef` or an identical version is stored), then uploads the adapter. */
export async function storeAdapter(target: string, input: StoreAdapterInput): Promise<StoredAdapter> {
  const c = connectStore(target);
  try {
    let baseRef = input.baseRef;
    let baseImported = false;
    if (!baseRef) {
      const baseName = input.baseName ?? storeNameOf(input.baseDir);
      const baseFiles = await folderEntries(input.baseDir);
      let base = await call(`looking up base model ${baseName}`, () => findModel(c, baseName, baseFiles));
      baseImported = !base;
      if (!base) {
        base = await call(`uploading base model ${baseName} from ${input.baseDir}`, async () => {
          const { call: up, done } = responseOf<{ model?: ModelInfo }, ReturnType<ModelStoreServiceClient['uploadModel']>>((cb) => c.uploadModel(new Metadata(), deadline(), cb));
          await sendFolder<UploadModelRequest>(up, { part: { $case: 'header', value: { ref: { name: baseName, version: '' }, quantization: 0, files: baseFiles } } }, input.baseDir, baseFiles);
          return (await done).model!;
        });
      }
      baseRef = { name: base.ref!.name, version: base.ref!.version };
    }
    const files = await folderEntries(input.adapterDir);
    const metrics = Object.fromEntries(Object.entries(input.metrics).filter(([, v]) => Number.isFinite(v)));
    try {
      const { call: up, done } = responseOf<{ adapter?: AdapterInfo }, ReturnType<ModelStoreServiceClient['uploadAdapter']>>((cb) => c.uploadAdapter(new Metadata(), deadline(), cb));
      await sendFolder<UploadAdapterRequest>(up, { part: { $case: 'header', value: { ref: { name: input.name, version: input.version }, baseModel: baseRef, files, metrics } } }, input.adapterDir, files);
      await done;
    } catch (err) {
      if ((err as ServiceError).code !== status.ALREADY_EXISTS) throw storeError(`uploading adapter ${input.name}@${input.version}`, err);
      // an earlier attempt of this job stored it (then died before the ack): the same files under the same base is done
      const linked = baseRef;
      const prior = await call('looking up the stored adapter', () => findAdapter(c, linked.name, input.name, input.version));
      if (!prior || prior.baseModel?.version !== linked.version || !sameFiles(prior.files, files)) {
        throw new Error(`model store: adapter ${input.name}@${input.version} already exists with other files or another base`);
      }
    }
    return { name: input.name, version: input.version, baseModel: baseRef, baseImported };
  } finally {
    c.close();
  }
}
