// A model-store process killed with SIGKILL in the middle of an upload (a real child process) leaves
// no partial model: nothing is listed, the half-sent file's blob does not exist, and the same upload
// succeeds afterwards. Run on both backends.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { ModelStoreServiceClient, type UploadModelRequest, type UploadModelResponse } from '@tuneloop/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderEntries, responseOf, sendFolder } from '../src/client.ts';
import { bigFolder, tempDir } from './fixtures/folders.ts';
import { NATS_URL, startHarness, unary, uploadModel, type Harness } from './fixtures/harness.ts';

const root = path.resolve(import.meta.dirname, '../../..');

const children: ChildProcess[] = [];

function spawnStore(env: Record<string, string>): { child: ChildProcess; target: Promise<string> } {
  // node itself (tsx as a loader, not the tsx wrapper process) so that SIGKILL hits the server
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'fixtures/store-main.ts')], {
    cwd: root,
    env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.base.json'), TUNELOOP_GRPC_ADDR: '127.0.0.1:0', TUNELOOP_METRICS_PORT: '0', TUNELOOP_LOG_LEVEL: 'info', TUNELOOP_NATS_URL: NATS_URL, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const target = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const o = JSON.parse(line) as { msg?: string; grpc?: string };
        if (o.msg === 'serving' && o.grpc) resolve(o.grpc);
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code, sig) => reject(new Error(`store process exited (${code ?? sig}) before serving`)));
  });
  return { child, target };
}

describe.each(['fs', 'nats'] as const)('a %s store killed mid-upload', (kind) => {
  let work: string;
  let h: Harness;
  beforeAll(async () => {
    work = await tempDir();
    h = await startHarness(kind, path.join(work, 'home'));
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await h?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('leaves no partial model listed', async () => {
    const dir = path.join(work, 'folder');
    await bigFolder(dir, 16);
    const weightsSha = createHash('sha256').update(await readFile(path.join(dir, 'model.safetensors'))).digest('hex');
    const { child, target } = spawnStore({ TUNELOOP_HOME: h.home, TUNELOOP_NATS_PREFIX: h.prefix, TUNELOOP_MODEL_STORE_BACKEND: kind });
    const exited = new Promise((resolve) => child.once('exit', (_c, sig) => resolve(sig)));
    const client = new ModelStoreServiceClient(await target, credentials.createInsecure());
    const files = await folderEntries(dir);
    const { call, done } = responseOf((cb: (e: ServiceError | null, r?: UploadModelResponse) => void) => client.uploadModel(cb));
    const header: UploadModelRequest = { part: { $case: 'header', value: { ref: { name: 'crashy', version: '' }, quantization: 0, files } } };
    let killedAt = 0;
    const sending = sendFolder(call, header, dir, files, (sent) => {
      if (killedAt === 0 && sent > 8 * 1024 * 1024) {
        killedAt = sent;
        child.kill('SIGKILL');
      }
    });
    const err = (await Promise.race([done.then(() => null), sending.then(() => done).then(() => null)]).catch((e: ServiceError) => e)) as ServiceError | null;
    expect(killedAt).toBeGreaterThan(0);
    expect(err).not.toBeNull();
    expect(await exited).toBe('SIGKILL');
    call.cancel();
    client.close();

    const listed = (await unary(h.client.listModels.bind(h.client) as never, { pageSize: 0, pageToken: '', name: '' })) as { models: unknown[] };
    expect(listed.models).toEqual([]);
    expect(await h.backend.blobs.size(weightsSha)).toBeNull();
    // after a restart of the in-process store on the same storage, the same upload completes
    await h.restart();
    const m = await uploadModel(h.client, dir, 'crashy');
    expect(m.ref).toEqual({ name: 'crashy', version: '1' });
    expect(await h.backend.blobs.size(weightsSha)).toBe(files.find((f) => f.path === 'model.safetensors')!.size);
  }, 90_000);
});
