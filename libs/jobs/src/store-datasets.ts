// Dataset versions in the model store (gRPC, `connectStore`): push a JSONL file or a folder of them (the CLI),
// describe / list versions, and fetch one file whole, SHA-256 checked: `storeFileFetcher(target)` is the
// `fetchStoreFile` that @tuneloop/store's pairs reader takes for store://<name>@<version>/<path> URIs.
// Errors are the store's own gRPC ServiceErrors (numeric `code`, `details`), so callers map NOT_FOUND etc. as is.
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { DatasetFormat, type DatasetInfo, type GetDatasetResponse, type ModelStoreServiceClient, type UploadDatasetRequest } from '@tuneloop/proto';
import { connectStore, folderEntries, responseOf, sendFolder } from './store-client.ts';

const CALL_TIMEOUT_MS = 10 * 60_000;
const deadline = () => ({ deadline: new Date(Date.now() + CALL_TIMEOUT_MS) });
/** Written by the store; never uploaded. */
const DATASET_INFO_FILE = 'dataset_info.json';

function unary<Req, Res>(c: ModelStoreServiceClient, method: (req: Req, md: Metadata, opts: { deadline: Date }, cb: (e: ServiceError | null, r: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => method.call(c, req, new Metadata(), deadline(), (e, r) => (e ? reject(e) : resolve(r))));
}

async function withClient<T>(target: string | undefined, fn: (c: ModelStoreServiceClient) => Promise<T>): Promise<T> {
  const c = connectStore(target);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

/** A gRPC-shaped error (code + details) raised on the client side, e.g. a size limit. */
function clientError(code: status, details: string): ServiceError {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata: new Metadata() }) as ServiceError;
}

export interface PushDatasetInput {
  /** A .jsonl file, or a folder: its *.jsonl files and README.md (dataset_info.json is left out: the store writes it). */
  source: string;
  name: string;
  /** '' or undefined: the next number. */
  version?: string;
  format?: DatasetFormat;
  description?: string;
  progress?: (sent: number, total: number) => void;
}

/** Uploads a dataset version (UploadDataset). */
export async function pushDataset(target: string | undefined, input: PushDatasetInput): Promise<DatasetInfo> {
  const s = await stat(input.source);
  let dir: string;
  let files;
  if (s.isDirectory()) {
    dir = input.source;
    files = (await folderEntries(dir)).filter((f) => f.path !== DATASET_INFO_FILE && (f.path.endsWith('.jsonl') || f.path === 'README.md'));
    if (!files.some((f) => f.path.endsWith('.jsonl'))) throw new Error(`${input.source}: no *.jsonl file in this folder`);
  } else {
    dir = path.dirname(input.source);
    files = (await folderEntries(dir)).filter((f) => f.path === path.basename(input.source));
    if (files.length !== 1) throw new Error(`${input.source}: a dataset file needs a plain name (no leading dot)`);
  }
  const total = files.reduce((a, f) => a + Number(f.size), 0);
  return withClient(target, async (c) => {
    const { call, done } = responseOf<{ dataset?: DatasetInfo }, ReturnType<ModelStoreServiceClient['uploadDataset']>>((cb) => c.uploadDataset(new Metadata(), deadline(), cb));
    const header: UploadDatasetRequest = {
      part: { $case: 'header', value: { ref: { name: input.name, version: input.version ?? '' }, format: input.format ?? DatasetFormat.UNSPECIFIED, files, description: input.description ?? '' } },
    };
    try {
      await sendFolder(call, header, dir, files, (n) => input.progress?.(n, total));
    } catch (e) {
      call.cancel();
      // the server's verdict (e.g. INVALID_ARGUMENT naming the line) wins over a write error it caused
      const verdict = await done.then(() => undefined, (x: ServiceError) => x);
      throw verdict && verdict.code !== status.CANCELLED ? verdict : e;
    }
    return (await done).dataset!;
  });
}

/** DescribeDataset; version '' = the newest. Rejects with the store's ServiceError (NOT_FOUND ...). */
export function describeDataset(target: string | undefined, name: string, version = ''): Promise<DatasetInfo> {
  return withClient(target, async (c) => (await unary(c, c.describeDataset, { ref: { name, version } })).dataset!);
}

/** Every stored dataset version (of `name` when given), newest first per name. */
export function listDatasets(target: string | undefined, name = ''): Promise<DatasetInfo[]> {
  return withClient(target, async (c) => {
    const out: DatasetInfo[] = [];
    let pageToken = '';
    do {
      const res = await unary(c, c.listDatasets, { name, pageSize: 1000, pageToken });
      out.push(...res.datasets);
      pageToken = res.nextPageToken;
    } while (pageToken);
    return out;
  });
}

export interface StoreFileRef {
  name: string;
  /** undefined or '': the newest version */
  version?: string;
  /** undefined: the dataset's only JSONL file */
  path?: string;
}

export interface FetchedStoreFile {
  name: string;
  version: string;
  path: string;
  data: Uint8Array;
}

/** One file of a dataset version, whole, SHA-256 checked (NOT_FOUND for an unknown version or file). */
export function fetchDatasetFile(target: string | undefined, ref: StoreFileRef, opts: { maxBytes?: number } = {}): Promise<FetchedStoreFile> {
  return withClient(target, async (c) => {
    const info = (await unary(c, c.describeDataset, { ref: { name: ref.name, version: ref.version ?? '' } })).dataset!;
    const at = `${info.ref!.name}@${info.ref!.version}`;
    let file = ref.path;
    if (file === undefined) {
      const jsonl = info.jsonlFiles.map((f) => f.path);
      if (jsonl.length !== 1) throw clientError(status.INVALID_ARGUMENT, `dataset ${at} holds ${jsonl.length} JSONL files (${jsonl.join(', ')}): name one, store://${at}/<file>`);
      file = jsonl[0];
    }
    const entry = info.files.find((f) => f.path === file);
    if (!entry) throw clientError(status.NOT_FOUND, `dataset ${at} has no file ${JSON.stringify(file)} (files: ${info.files.map((f) => f.path).join(', ')})`);
    const size = Number(entry.size);
    if (opts.maxBytes !== undefined && size > opts.maxBytes) throw clientError(status.INVALID_ARGUMENT, `${at}/${file} is ${size} bytes, more than the limit of ${opts.maxBytes}`);
    const parts: Uint8Array[] = [];
    const h = createHash('sha256');
    let got = 0;
    const stream = c.getDataset({ ref: info.ref, path: file, offset: 0, chunkSize: 0 }, new Metadata(), deadline());
    for await (const msg of stream as AsyncIterable<GetDatasetResponse>) {
      if (!msg.chunk) continue;
      parts.push(msg.chunk.data);
      h.update(msg.chunk.data);
      got += msg.chunk.data.length;
    }
    if (got !== size || h.digest('hex') !== entry.sha256) throw clientError(status.DATA_LOSS, `${at}/${file}: received ${got} of ${size} bytes, or its SHA-256 does not match`);
    const data = Buffer.concat(parts);
    return { name: info.ref!.name, version: info.ref!.version, path: file, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  });
}

/**
 * The pairs reader's `fetchStoreFile` (@tuneloop/store PreferenceSourceOptions) over the model store at `target`
 * (a function: resolved at each call, e.g. a service's own port). Usage:
 * `loadPreferencePairs(uri, { ..., fetchStoreFile: storeFileFetcher(storeTarget) })`.
 */
export function storeFileFetcher(target: string | (() => string | undefined) | undefined): (ref: StoreFileRef, opts: { maxBytes: number }) => Promise<FetchedStoreFile> {
  return (ref, opts) => fetchDatasetFile(typeof target === 'function' ? target() : target, ref, opts);
}
