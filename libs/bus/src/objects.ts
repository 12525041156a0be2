// Blobs (model files, adapters, datasets) in the JetStream object store `blobs`: chunked streaming put/get
// with the store's SHA-256 digest checked on read (NATS object store format).
import { Objm } from '@nats-io/obj';
import type { ObjectInfo, ObjectStore } from '@nats-io/obj';
import type { Bus } from './connect.ts';

export interface BlobInfo {
  name: string;
  size: number;
  chunks: number;
  /** 'SHA-256=<padded base64url>' as the NATS object store records it */
  digest: string;
  mtime: string;
  description?: string;
}

export type BlobSource = Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array> | ReadableStream<Uint8Array>;

const NAME_MAX = 1024;

function checkName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > NAME_MAX || /[\s\0]/.test(name)) {
    throw new Error(`name: must be 1-${NAME_MAX} characters without whitespace, got ${JSON.stringify(name)}`);
  }
}

function toInfo(i: ObjectInfo): BlobInfo {
  return { name: i.name, size: i.size, chunks: i.chunks, digest: i.digest, mtime: i.mtime, ...(i.description ? { description: i.description } : {}) };
}

function toStream(src: BlobSource): ReadableStream<Uint8Array> {
  if (src instanceof ReadableStream) return src;
  if (src instanceof Uint8Array) {
    return new ReadableStream({ start(c) { c.enqueue(src); c.close(); } });
  }
  const it = Symbol.asyncIterator in src ? (src as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]() : (src as Iterable<Uint8Array>)[Symbol.iterator]();
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      const r = await it.next();
      if (r.done) c.close();
      else c.enqueue(r.value);
    },
    async cancel() {
      await it.return?.();
    },
  });
}

/** Opens the provisioned object store of the bus. */
export function blobStore(bus: Bus): Promise<ObjectStore> {
  return new Objm(bus.js).open(bus.names.objects.blobs);
}

/** Streams `source` into the store under `name` (replacing an older version) in chunks of `chunkSize` (default 128 KiB). */
export async function putBlob(bus: Bus, name: string, source: BlobSource, opts: { description?: string; chunkSize?: number } = {}): Promise<BlobInfo> {
  checkName(name);
  const store = await blobStore(bus);
  const info = await store.put(
    { name, ...(opts.description ? { description: opts.description } : {}), options: { max_chunk_size: opts.chunkSize ?? 128 * 1024 } },
    toStream(source),
  );
  return toInfo(info);
}

/**
 * Streams a blob; null when absent. Iterate `chunks`; after the last chunk the digest has been
 * verified (a mismatch throws from the iteration, so a caller never accepts corrupt data).
 */
export async function getBlob(bus: Bus, name: string): Promise<{ info: BlobInfo; chunks: AsyncIterable<Uint8Array> } | null> {
  checkName(name);
  const store = await blobStore(bus);
  const r = await store.get(name);
  if (!r) return null;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    const reader = r!.data.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
    const err = await r!.error;
    if (err) throw new Error(`blob ${name}: ${err.message}`, { cause: err });
  }
  return { info: toInfo(r.info), chunks: chunks() };
}

/** Reads a whole blob into memory (small blobs); null when absent. */
export async function getBlobBytes(bus: Bus, name: string): Promise<Uint8Array | null> {
  const b = await getBlob(bus, name);
  if (!b) return null;
  const parts: Uint8Array[] = [];
  for await (const c of b.chunks) parts.push(c);
  return Buffer.concat(parts);
}

export async function blobInfo(bus: Bus, name: string): Promise<BlobInfo | null> {
  checkName(name);
  const i = await (await blobStore(bus)).info(name);
  return i && !i.deleted ? toInfo(i) : null;
}

export async function deleteBlob(bus: Bus, name: string): Promise<boolean> {
  checkName(name);
  const store = await blobStore(bus);
  if (!(await store.info(name))) return false;
  await store.delete(name);
  return true;
}

export async function listBlobs(bus: Bus): Promise<BlobInfo[]> {
  return (await (await blobStore(bus)).list()).filter((i) => !i.deleted).map(toInfo);
}
