// The final adapter goes to the model store before the job is acked (real gRPC socket, real NATS, isolated names):
// listed in the store, linked to the imported base version, files byte-identical to the trained folder. With the
// store down, the trained job is handed back un-acked (still running, still queued) and a later attempt stores it
// without training again.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { connectBus, deprovision, jobsKv, provision, type Bus, type WorkQueue } from '@tuneloop/bus';
import { folderEntries, modelStore } from '@tuneloop/model-store';
import { JobStatus, ModelStoreServiceClient, StartTrainingRequest, type AdapterInfo, type GetAdapterResponse, type ModelInfo } from '@tuneloop/proto';
import { createLogger, startTestServices, type TestServices } from '@tuneloop/service-kit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adapterTrainerApi } from '../src/service.ts';
import { tempHome } from '../src/testing.ts';
import { startSftWorker } from '../src/worker.ts';
import { trainerApi, trainerClient, until, watchJob } from './grpc-util.ts';

const prefix = `t${randomUUID().slice(0, 8)}`;
const logger = createLogger({ name: 'store-upload-test', level: 'silent' });
let svc: TestServices;
let later: TestServices | undefined;
let bus: Bus;
let home: Awaited<ReturnType<typeof tempHome>>;
let queue: WorkQueue | undefined;

beforeAll(async () => {
  home = await tempHome(48);
  bus = await connectBus({ url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'store-upload-test', prefix });
  await provision(bus, { prefix, storage: 'memory' });
  svc = await startTestServices([modelStore, adapterTrainerApi], { TUNELOOP_HOME: home.home, TUNELOOP_NATS_PREFIX: prefix });
});

afterAll(async () => {
  await queue?.stop({ timeoutMs: 2000 });
  await later?.close();
  await svc?.close();
  await deprovision(bus).catch(() => undefined);
  await bus?.close();
  await home?.cleanup();
});

const jobsInStream = async () => (await bus.jsm.streams.info(bus.names.streams.jobs)).state.messages;

function request(outputName: string, checkpointEvery: number): StartTrainingRequest {
  return StartTrainingRequest.fromPartial({
    spec: { baseModel: { name: 'tiny' }, outputName, dataset: { uri: 'add.jsonl' }, training: { learningRate: 0.02, maxSteps: 12, batchSize: 8, maxGradNorm: 1, seed: 3 } },
    options: { method: 'lora', rank: 4, targetModules: ['all-linear'], checkpointEvery },
  });
}

function storeOf(target: string) {
  const c = new ModelStoreServiceClient(target, credentials.createInsecure());
  const cb = <R>(resolve: (r: R) => void, reject: (e: ServiceError) => void) => (e: ServiceError | null, r: R) => (e ? reject(e) : resolve(r));
  return {
    close: () => c.close(),
    adapters: (base: string) => new Promise<AdapterInfo[]>((res, rej) => c.listAdapters({ baseModelName: base, pageSize: 0, pageToken: '' }, cb((r) => res(r.adapters), rej))),
    models: (name: string) => new Promise<ModelInfo[]>((res, rej) => c.listModels({ name, pageSize: 0, pageToken: '' }, cb((r) => res(r.models), rej))),
    async file(name: string, version: string, file: string): Promise<Buffer> {
      const parts: Buffer[] = [];
      for await (const m of c.getAdapter({ ref: { name, version }, path: file, offset: 0, chunkSize: 0 }) as AsyncIterable<GetAdapterResponse>) {
        if (m.chunk) parts.push(Buffer.from(m.chunk.data));
      }
      return Buffer.concat(parts);
    },
  };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

it('stores the adapter in the model store, linked to the imported base, byte-identical, then acks', async () => {
  queue = await startSftWorker(bus, { home: home.home, logger, ackWaitMs: 2000, storeTarget: () => svc.target });
  const client = trainerClient(svc.target);
  const store = storeOf(svc.target);
  try {
    const { job } = await trainerApi(client).start(request('stored', 1000)); // no checkpoint: the job folder is created by the worker
    const jobId = job!.jobId;
    let listedAtSuccess: AdapterInfo[] = [];
    const events = await watchJob(client, jobId, async (e) => {
      if (e.status === JobStatus.SUCCEEDED) listedAtSuccess = await store.adapters('tiny');
    });
    expect(events.at(-1)!.status, events.at(-1)!.message).toBe(JobStatus.SUCCEEDED);
    expect(events.at(-1)!.message).toBe(`adapter stored as stored@${jobId} (base tiny@1, imported)`);
    expect(listedAtSuccess.map((a) => a.ref)).toContainEqual({ name: 'stored', version: jobId });
    expect((await trainerApi(client).get(jobId)).job!.output).toEqual({ name: 'stored', version: jobId });

    // the base folder became tiny@1, file for file
    const [base] = await store.models('tiny');
    expect(base.ref).toEqual({ name: 'tiny', version: '1' });
    expect(base.files).toEqual(await folderEntries(home.base));

    const [a] = (await store.adapters('tiny')).filter((x) => x.ref?.version === jobId);
    expect(a.baseModel).toEqual({ name: 'tiny', version: '1' });
    expect(a.peftType).toBe('LORA');
    expect(a.metrics.steps).toBe(12);
    const dir = path.join(home.home, 'adapters', 'stored', jobId);
    const local = (await readdir(dir)).sort();
    expect(local).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'tuneloop_training.json']);
    expect(a.files.map((f) => f.path).sort()).toEqual(local);
    for (const f of local) expect((await store.file('stored', jobId, f)).equals(await readFile(path.join(dir, f))), f).toBe(true);
    await until(async () => (await jobsInStream()) === 0, 5000, 'the ack');
  } finally {
    client.close();
    store.close();
    await queue.stop({ timeoutMs: 2000 });
    queue = undefined;
  }
});

it('with the store down the trained job is not acked; a later attempt stores it without training again', async () => {
  const port = await freePort();
  const target = `127.0.0.1:${port}`;
  queue = await startSftWorker(bus, { home: home.home, logger, ackWaitMs: 2000, storeTarget: () => target, storeRetryMs: [1500] });
  const client = trainerClient(svc.target);
  try {
    const { job } = await trainerApi(client).start(request('offline', 6));
    const jobId = job!.jobId;
    let checkedDown = false;
    const events = await watchJob(client, jobId, async (e) => {
      if (checkedDown || !/retrying \(attempt 1 of 5\)$/.test(e.message)) return;
      checkedDown = true;
      expect(e.message).toMatch(/^model store: looking up base model tiny: .*UNAVAILABLE/);
      // trained, but the store is down: nothing acked, the job still running, no adapter stored
      expect(existsSync(path.join(home.home, 'adapters', 'offline', jobId, 'adapter_model.safetensors'))).toBe(true);
      expect(await jobsInStream()).toBe(1);
      expect((await (await jobsKv(bus)).get(jobId))?.value.state).toBe('running');
      const s1 = storeOf(svc.target);
      expect((await s1.adapters('tiny')).map((a) => a.ref?.name)).not.toContain('offline');
      s1.close();
      later = await startTestServices([modelStore], { TUNELOOP_HOME: home.home, TUNELOOP_NATS_PREFIX: prefix, TUNELOOP_GRPC_ADDR: target });
    });
    expect(checkedDown).toBe(true);
    const last = events.at(-1)!;
    expect(last.status, last.message).toBe(JobStatus.SUCCEEDED);
    expect(last.metrics.attempt).toBeGreaterThan(1);
    expect(last.message).toBe(`adapter stored as offline@${jobId} (base tiny@1)`); // the identical base is reused
    expect(events.filter((e) => e.metrics.attempt > 1 && e.loss > 0)).toEqual([]); // no step trained again
    expect(events.some((e) => e.metrics.attempt > 1 && e.message === 'training finished in an earlier attempt; storing the adapter')).toBe(true);
    const s = storeOf(target);
    const stored = (await s.adapters('tiny')).find((a) => a.ref?.name === 'offline');
    s.close();
    expect(stored?.baseModel).toEqual({ name: 'tiny', version: '1' });
    await until(async () => (await jobsInStream()) === 0, 5000, 'the ack after the store');
    expect((await (await jobsKv(bus)).get(jobId))?.value.state).toBe('succeeded');
  } finally {
    client.close();
  }
}, 60_000);
