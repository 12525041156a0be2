// Local file-system backend under <home>/model-store: blobs/sha256/<ab>/<hex>, manifests/<kind>/<name>/<version>.json.
// Writes go to tmp/<uuid> and are renamed (blobs) or hard-linked (manifests: create-if-absent) when complete.
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore, ManifestKind, ManifestStore, StoreBackend } from './backend.ts';

/** Temp files older than this are left-overs of a killed process, removed at start. */
const STALE_TMP_MS = 60 * 60 * 1000;

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } catch {
    // directories cannot be fsynced on every platform; the rename stays atomic
  } finally {
    await fh.close();
  }
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

class FsBlobs implements BlobStore {
  constructor(
    private readonly root: string,
    private readonly tmp: string,
  ) {}

  private path(sha: string): string {
    return join(this.root, sha.slice(0, 2), sha);
  }

  location(sha: string): string {
    return this.path(sha);
  }

  async size(sha: string): Promise<number | null> {
    try {
      return (await stat(this.path(sha))).size;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async put(sha: string, source: AsyncIterable<Uint8Array>): Promise<{ written: boolean }> {
    if ((await this.size(sha)) !== null) {
      for await (const _ of source); // verify the upload all the same; the bytes are stored once
      return { written: false };
    }
    const tmp = join(this.tmp, `${randomUUID()}.blob`);
    const fh = await open(tmp, 'wx');
    try {
      for await (const chunk of source) await fh.write(chunk);
      await fh.sync();
    } catch (err) {
      await fh.close();
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    await fh.close();
    const dest = this.path(sha);
    await mkdir(join(this.root, sha.slice(0, 2)), { recursive: true });
    await rename(tmp, dest);
    await fsyncPath(join(this.root, sha.slice(0, 2)));
    return { written: true };
  }

  async read(sha: string): Promise<AsyncIterable<Uint8Array> | null> {
    if ((await this.size(sha)) === null) return null;
    return createReadStream(this.path(sha), { highWaterMark: 256 * 1024 });
  }

  async delete(sha: string): Promise<boolean> {
    try {
      await unlink(this.path(sha));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const d of await readdir(this.root).catch(() => [] as string[])) {
      for (const f of await readdir(join(this.root, d)).catch(() => [] as string[])) out.push(f);
    }
    return out;
  }
}

class FsManifests implements ManifestStore {
  constructor(
    private readonly root: string,
    private readonly tmp: string,
  ) {}

  private dir(kind: ManifestKind, name: string): string {
    return join(this.root, kind, name);
  }

  async create(kind: ManifestKind, name: string, version: string, doc: string): Promise<boolean> {
    const tmp = join(this.tmp, `${randomUUID()}.json`);
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(doc);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await mkdir(this.dir(kind, name), { recursive: true });
    try {
      await link(tmp, join(this.dir(kind, name), `${version}.json`)); // fails with EEXIST: create-if-absent
      await fsyncPath(this.dir(kind, name));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  async get(kind: ManifestKind, name: string, version: string): Promise<string | null> {
    try {
      return await readFile(join(this.dir(kind, name), `${version}.json`), 'utf8');
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async list(kind: ManifestKind, name?: string): Promise<string[]> {
    const names = name ? [name] : await readdir(join(this.root, kind)).catch(() => [] as string[]);
    const out: string[] = [];
    for (const n of names) {
      for (const f of await readdir(this.dir(kind, n)).catch(() => [] as string[])) {
        if (!f.endsWith('.json')) continue;
        const doc = await readFile(join(this.dir(kind, n), f), 'utf8').catch(() => null);
        if (doc !== null) out.push(doc);
      }
    }
    return out;
  }

  async delete(kind: ManifestKind, name: string, version: string): Promise<boolean> {
    try {
      await unlink(join(this.dir(kind, name), `${version}.json`));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }
}

/** Opens (creating) the store under `<home>/model-store` and removes stale temp files. */
export async function openFsBackend(home: string): Promise<StoreBackend> {
  const base = join(home, 'model-store');
  const tmp = join(base, 'tmp');
  const blobs = join(base, 'blobs', 'sha256');
  const manifests = join(base, 'manifests');
  for (const d of [tmp, blobs, manifests]) await mkdir(d, { recursive: true });
  const now = Date.now();
  for (const f of await readdir(tmp)) {
    const p = join(tmp, f);
    const s = await stat(p).catch(() => null);
    if (s && now - s.mtimeMs > STALE_TMP_MS) await rm(p, { force: true });
  }
  return {
    kind: 'fs',
    blobs: new FsBlobs(blobs, tmp),
    manifests: new FsManifests(manifests, tmp),
    async close() {},
  };
}
