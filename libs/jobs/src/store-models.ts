// Model versions in the model store for jobs and services (gRPC, `connectStore`): look one up, pull it into a local
// cache folder (base models of jobs; reward models for Score / Evaluate), and upload a trained folder as a model
// version with an explicit version (the job id), idempotently.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { isRetryable } from '@tuneloop/bus';
import { UnavailableError } from '@tuneloop/service-kit';
import { storeError } from './store-adapter.ts';
import { connectStore, folderEntries, responseOf, sendFolder } from './store-client.ts';
import type { FileEntry, GetModelResponse, ModelInfo, ModelStoreServiceClient, UploadModelRequest } from '@tuneloop/proto';

const CALL_TIMEOUT_MS = 10 * 60_000;
const MANIFEST = '.tuneloop-pulled.json';

const deadline = () => ({ deadline: new Date(Date.now() + CALL_TIMEOUT_MS) });

export const sameFileEntries = (a: FileEntry[], b: FileEntry[]) =>
  a.length === b.length && a.every((f) => b.some((g) => g.path === f.path && g.sha256 === f.sha256 && Number(g.size) === Number(f.size)));

/** The stored model `name@version` (version '': the newest), or undefined when the store has no such model. */
export async function describeModel(target: string, name: string, version: string): Promise<ModelInfo | undefined> {
  const c = connectStore(target);
  try {
    return await new Promise<ModelInfo | undefined>((resolve, reject) =>
      c.describeModel({ ref: { name, version } }, new Metadata(), deadline(), (e: ServiceError | null, r) => {
        // no such model, or no model store at the target (UNIMPLEMENTED): unknown
        if (e?.code === status.NOT_FOUND || e?.code === status.UNIMPLEMENTED) resolve(undefined);
        else if (e) {
          const err = storeError(`looking up ${name}${version ? `@${version}` : ''}`, e);
          reject(isRetryable(err) ? new UnavailableError(err.message, { cause: e }) : err);
        }
        else resolve(r.model);
      }),
    );
  } finally {
    c.close();
  }
}

const pulling = new Map<string, Promise<string>>();

/**
 * The folder of model `info` under `cacheRoot/<name>@<version>`, downloaded (each file verified against its
 * SHA-256, the folder renamed into place whole) unless a complete copy is there already.
 */
export function pullModel(target: string, info: ModelInfo, cacheRoot: string): Promise<string> {
  const ref = `${info.ref!.name}@${info.ref!.version}`;
  const dir = path.join(cacheRoot, ref);
  let p = pulling.get(dir);
  if (!p) {
    p = (async () => {
      const marker = path.join(dir, MANIFEST);
      if (existsSync(marker) && sameFileEntries(JSON.parse(await readFile(marker, 'utf8')) as FileEntry[], info.files)) return dir;
      const tmp = `${dir}.part-${process.pid}-${Date.now()}`;
      await mkdir(tmp, { recursive: true });
      const c = connectStore(target);
      try {
        for (const f of info.files) await download(c, info, f, path.join(tmp, f.path));
      } catch (e) {
        await rm(tmp, { recursive: true, force: true });
        throw (e as ServiceError).code !== undefined ? storeError(`downloading ${ref}`, e) : e;
      } finally {
        c.close();
      }
      await writeFile(path.join(tmp, MANIFEST), JSON.stringify(info.files));
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
      return dir;
    })();
    p.finally(() => pulling.delete(dir)).catch(() => undefined);
    pulling.set(dir, p);
  }
  return p;
}

async function download(c: ModelStoreServiceClient, info: ModelInfo, f: FileEntry, dest: string): Promise<void> {
  await mkdir(path.dirname(dest), { recursive: true });
  const fh = await open(dest, 'w');
  const h = createHash('sha256');
  try {
    const stream = c.getModel({ ref: { name: info.ref!.name, version: info.ref!.version }, path: f.path, offset: 0, chunkSize: 0 }, new Metadata(), deadline());
    for await (const msg of stream as AsyncIterable<GetModelResponse>) {
      const chunk = msg.chunk;
      if (!chunk) continue;
      await fh.write(chunk.data, 0, chunk.data.length, Number(chunk.offset));
      h.update(chunk.data);
    }
  } finally {
    await fh.close();
  }
  const sha = h.digest('hex');
  if (sha !== f.sha256) throw new Error(`model store: ${info.ref!.name}@${info.ref!.version}/${f.path}: SHA-256 ${sha}, expected ${f.sha256}`);
}

/**
 * Uploads `dir` as model `name@version`. A version that already exists with exactly these files (an earlier
 * attempt of the same job stored it, then died before the ack) counts as stored. Store outages throw
 * RetryableError (storeError).
 */
export async function storeModelFolder(target: string, dir: string, name: string, version: string): Promise<{ name: string; version: string }> {
  const files = await folderEntries(dir);
  const c = connectStore(target);
  try {
    const { call, done } = responseOf<{ model?: ModelInfo }, ReturnType<ModelStoreServiceClient['uploadModel']>>((cb) => c.uploadModel(new Metadata(), deadline(), cb));
    await sendFolder<UploadModelRequest>(call, { part: { $case: 'header', value: { ref: { name, version }, quantization: 0, files } } }, dir, files);
    await done;
  } catch (err) {
    if ((err as ServiceError).code !== status.ALREADY_EXISTS) throw storeError(`uploading model ${name}@${version}`, err);
    const prior = await describeModel(target, name, version);
    if (!prior || !sameFileEntries(prior.files, files)) throw new Error(`model store: ${name}@${version} already exists with other files`);
  } finally {
    c.close();
  }
  return { name, version };
}
