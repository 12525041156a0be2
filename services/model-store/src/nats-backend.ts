// NATS JetStream backend (a cluster's shared store): blobs are objects 'sha256/<hex>' in the bus's
// object store `blobs`; manifests are keys '<kind>.<name>.<version>' of the KV bucket `<prefix>model-manifests`.
// An object becomes visible only when its metadata is written after the last chunk, so a failed or
// killed upload leaves nothing under the name (the object store purges or orphans its chunks).
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { Bus } from '@tuneloop/bus';
import type { BlobStore, ManifestKind, ManifestStore, StoreBackend } from './backend.ts';

/** KV keys allow [-/_=.A-Za-z0-9] with '.' as token separator: '.' inside a name becomes '='. */
function token(s: string): string {
  return s.replace(/\./g, '=');
}

class NatsBlobs implements BlobStore {
  constructor(private readonly os: ObjectStore) {}

  location(sha: string): string {
    return `sha256/${sha}`;
  }

  async size(sha: string): Promise<number | null> {
    const i = await this.os.info(this.location(sha));
    return i && !i.deleted ? i.size : null;
  }

  async put(sha: string, source: AsyncIterable<Uint8Array>): Promise<{ written: boolean }> {
    if ((await this.size(sha)) !== null) {
      for await (const _ of source); // verify the upload all the same; the bytes are stored once
      return { written: false };
    }
    const it = source[Symbol.asyncIterator]();
    let failure: unknown;
    const stream = new ReadableStream<Uint8Array>({
      async pull(c) {
        try {
          const r = await it.next();
          if (r.done) c.close();
          else c.enqueue(r.value);
        } catch (err) {
          failure = err;
          c.error(err); // the object store purges the chunks and publishes no metadata
        }
      },
    });
    try {
      await this.os.put({ name: this.location(sha), options: { max_chunk_size: 256 * 1024 } }, stream);
    } catch (err) {
      throw failure ?? err;
    }
    return { written: true };
  }

  async read(sha: string): Promise<AsyncIterable<Uint8Array> | null> {
    const r = await this.os.get(this.location(sha));
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
      // the object store's own digest error is ignored here: readVerified hashes every byte itself
      await r!.error;
    }
    return chunks();
  }

  async delete(sha: string): Promise<boolean> {
    if ((await this.size(sha)) === null) return false;
    await this.os.delete(this.location(sha));
    return true;
  }

  async list(): Promise<string[]> {
    return (await this.os.list()).filter((i) => !i.deleted && i.name.startsWith('sha256/')).map((i) => i.name.slice(7));
  }
}

class NatsManifests implements ManifestStore {
  constructor(private readonly kv: KV) {}

  private key(kind: ManifestKind, name: string, version: string): string {
    return `${kind}.${token(name)}.${token(version)}`;
  }

  async create(kind: ManifestKind, name: string, version: string, doc: string): Promise<boolean> {
    try {
      await this.kv.create(this.key(kind, name, version), doc);
      return true;
    } catch (err) {
      if ((await this.get(kind, name, version)) !== null) return false;
      throw err;
    }
  }

  async get(kind: ManifestKind, name: string, version: string): Promise<string | null> {
    const e = await this.kv.get(this.key(kind, name, version));
    return e && e.operation === 'PUT' ? e.string() : null;
  }

  async list(kind: ManifestKind, name?: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const k of await this.kv.keys(name ? `${kind}.${token(name)}.*` : `${kind}.>`)) keys.push(k);
    const out: string[] = [];
    for (const k of keys) {
      const e = await this.kv.get(k);
      if (e && e.operation === 'PUT') out.push(e.string());
    }
    return out;
  }

  async delete(kind: ManifestKind, name: string, version: string): Promise<boolean> {
    if ((await this.get(kind, name, version)) === null) return false;
    await this.kv.purge(this.key(kind, name, version));
    return true;
  }
}

/** KV bucket holding the manifests of a bus (prefix-aware). */
export function manifestBucket(bus: Bus): string {
  return `${bus.names.prefix}model-manifests`;
}

/** Opens the object store `blobs` (created if absent) and the manifest KV bucket (created if absent). */
export async function openNatsBackend(bus: Bus): Promise<StoreBackend> {
  const os = await new Objm(bus.js).create(bus.names.objects.blobs);
  const kv = await new Kvm(bus.js).create(manifestBucket(bus), { history: 1 });
  return {
    kind: 'nats',
    blobs: new NatsBlobs(os),
    manifests: new NatsManifests(kv),
    async close() {},
  };
}
