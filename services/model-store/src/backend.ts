// The storage interface of the model store: content-addressed blobs (SHA-256) and small JSON manifests.
// Two implementations (fs-backend.ts, nats-backend.ts) pass the same suite (test/store.test.ts).
import { createHash } from 'node:crypto';
import { DataLossError, InvalidArgumentError } from '@tuneloop/service-kit';

export const SHA256_RE = /^[0-9a-f]{64}$/;

export type ManifestKind = 'models' | 'adapters' | 'datasets';

export interface BlobStore {
  /** Stored size of a blob, or null when absent. */
  size(sha: string): Promise<number | null>;
  /**
   * Stores `source` under `sha`. `source` is verified as it is consumed (verifiedSource): when it
   * throws, nothing becomes visible. If the blob exists already, the data is consumed and checked but
   * stored once. Returns whether bytes were written.
   */
  put(sha: string, source: AsyncIterable<Uint8Array>): Promise<{ written: boolean }>;
  /** The stored bytes from the start, unverified (use readVerified), or null when absent. */
  read(sha: string): Promise<AsyncIterable<Uint8Array> | null>;
  delete(sha: string): Promise<boolean>;
  list(): Promise<string[]>;
  /** Where a blob lives, as shown in events ('sha256/<hex>' object name, or a file path). */
  location(sha: string): string;
}

export interface ManifestStore {
  /** Creates the document only when absent; false when (kind, name, version) exists. */
  create(kind: ManifestKind, name: string, version: string, doc: string): Promise<boolean>;
  get(kind: ManifestKind, name: string, version: string): Promise<string | null>;
  /** Every document of `kind` (of `name` when given). */
  list(kind: ManifestKind, name?: string): Promise<string[]>;
  delete(kind: ManifestKind, name: string, version: string): Promise<boolean>;
}

export interface StoreBackend {
  readonly kind: 'fs' | 'nats';
  readonly blobs: BlobStore;
  readonly manifests: ManifestStore;
  close(): Promise<void>;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Passes `source` through while hashing it; after the last chunk checks the byte count and the
 * SHA-256 against what was declared and throws INVALID_ARGUMENT (naming `field`) on a mismatch.
 */
export async function* verifiedSource(source: AsyncIterable<Uint8Array>, sha: string, size: number, field: string): AsyncGenerator<Uint8Array> {
  const h = createHash('sha256');
  let n = 0;
  for await (const chunk of source) {
    n += chunk.length;
    if (n > size) throw new InvalidArgumentError(field, `more than the declared ${size} bytes`);
    h.update(chunk);
    yield chunk;
  }
  if (n !== size) throw new InvalidArgumentError(field, `truncated: got ${n} of the declared ${size} bytes`);
  const got = h.digest('hex');
  if (got !== sha) throw new InvalidArgumentError(field, `sha256 mismatch: declared ${sha}, data hashes to ${got}`);
}

/**
 * Reads blob `sha` from `offset` in chunks of at most `chunkSize` bytes, hashing the whole blob.
 * The last chunk is released only after the SHA-256 matched; a mismatch throws DATA_LOSS.
 */
export async function* readVerified(
  blobs: BlobStore,
  sha: string,
  opts: { offset?: number; chunkSize?: number; label: string },
): AsyncGenerator<{ offset: number; data: Uint8Array; last: boolean }> {
  const src = await blobs.read(sha);
  if (!src) throw new DataLossError(`${opts.label}: blob sha256:${sha} is missing from the store`);
  const offset = opts.offset ?? 0;
  const chunkSize = opts.chunkSize ?? 256 * 1024;
  const h = createHash('sha256');
  let pos = 0;
  let pending: { offset: number; data: Uint8Array; last: boolean } | null = null;
  let buf: Uint8Array[] = [];
  let bufLen = 0;
  let bufStart = offset;
  for await (const chunk of src) {
    h.update(chunk);
    const end = pos + chunk.length;
    if (end > offset) {
      buf.push(chunk.subarray(Math.max(0, offset - pos)));
      bufLen += buf[buf.length - 1].length;
      while (bufLen >= chunkSize) {
        const all = Buffer.concat(buf);
        if (pending) yield pending;
        pending = { offset: bufStart, data: all.subarray(0, chunkSize), last: false };
        bufStart += chunkSize;
        buf = [all.subarray(chunkSize)];
        bufLen = all.length - chunkSize;
      }
    }
    pos = end;
  }
  if (h.digest('hex') !== sha) throw new DataLossError(`${opts.label}: stored data does not match its sha256 ${sha} (corrupt blob)`);
  if (offset > pos) throw new InvalidArgumentError('offset', `must be <= the file size ${pos}, got ${offset}`);
  if (bufLen === 0 && pending) {
    yield { ...pending, last: true };
    return;
  }
  if (pending) yield pending;
  yield { offset: bufStart, data: Buffer.concat(buf), last: true };
}
