// Model-store inputs over a real gRPC socket, real NATS (isolated names) and the real model store in the same
// process: an SFT job on a stored base (name@version) and a store://<dataset>@<version>/<file> dataset trains and links
// its adapter to that base version (nothing imported); a second job continues the first job's stored adapter
// (spec.init_adapter): its step-0 eval loss is the first job's final one. Bad store refs and URIs are refused with
// NOT_FOUND / INVALID_ARGUMENT naming the field before anything is queued.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { connectBus, deprovision, jobsKv, provision, type Bus } from '@tuneloop/bus';
import { pushDataset, storeModelFolder } from '@tuneloop/jobs';
import { modelStore } from '@tuneloop/model-store';
import { decodeAdapterFiles, encodeAdapterFiles } from '@tuneloop/peft';
import { DatasetFormat, JobStatus, ModelStoreServiceClient, StartTrainingRequest, type AdapterInfo, type JobEvent, type ModelInfo } from '@tuneloop/proto';
import { startTestServices, type TestServices } from '@tuneloop/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adapterTrainer } from '../src/service.ts';
import { additionsJsonl, tempHome } from '../src/testing.ts';
import { errorOf, trainerApi, trainerClient, until, watchJob } from './grpc-util.ts';

const prefix = `t${randomUUID().slice(0, 8)}`;
const BASE = { name: 'tinystore', version: '1' };
const DATA = 'store://adds@1/train.jsonl';
let svc: TestServices;
let bus: Bus;
let home: Awaited<ReturnType<typeof tempHome>>;
let client: ReturnType<typeof trainerClient>;
let api: ReturnType<typeof trainerApi>;
let store: ModelStoreServiceClient;
let first: { jobId: string; evalAt0: number; evalAtEnd: number } | undefined;

beforeAll(async () => {
  home = await tempHome(8);
  bus = await connectBus({ url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'store-inputs-test', prefix });
  await provision(bus, { prefix, storage: 'memory' });
  svc = await startTestServices([modelStore, adapterTrainer], { TUNELOOP_HOME: home.home, TUNELOOP_NATS_PREFIX: prefix });
  client = trainerClient(svc.target);
  api = trainerApi(client);
  store = new ModelStoreServiceClient(svc.target, credentials.createInsecure());
  // the base only in the store (no TUNELOOP_HOME/models/tinystore), the dataset only in the store
  await storeModelFolder(svc.target, home.base, BASE.name, BASE.version);
  const ds = path.join(home.home, 'to-push');
  await mkdir(ds);
  await writeFile(path.join(ds, 'train.jsonl'), additionsJsonl(64, 4));
  await pushDataset(svc.target, { source: path.join(ds, 'train.jsonl'), name: 'adds', version: '1', format: DatasetFormat.PROMPT_COMPLETION });
  await rm(ds, { recursive: true });
});

afterAll(async () => {
  store?.close();
  client?.close();
  await svc?.close();
  await deprovision(bus).catch(() => undefined);
  await bus?.close();
  await home?.cleanup();
});

function request(over: { initAdapter?: { name: string; version: string }; base?: { name: string; version: string }; data?: string; outputName?: string; options?: object } = {}): StartTrainingRequest {
  return StartTrainingRequest.fromPartial({
    idempotencyKey: over.outputName ? `key-${over.outputName}` : '',
    spec: {
      baseModel: over.base ?? BASE,
      ...(over.initAdapter ? { initAdapter: over.initAdapter } : {}),
      outputName: over.outputName ?? 'adds-lora',
      dataset: { uri: over.data ?? DATA, format: DatasetFormat.PROMPT_COMPLETION },
      training: { learningRate: 0.02, maxSteps: 16, batchSize: 8, maxGradNorm: 1, seed: 2 },
      objective: { $case: 'sft', value: {} },
    },
    options: { ...(over.initAdapter ? { method: 'lora' } : { method: 'lora', rank: 4, targetModules: ['all-linear'] }), evalEvery: 8, checkpointEvery: 8, ...over.options },
  });
}

const jobsInStream = async () => (await bus.jsm.streams.info(bus.names.streams.jobs)).state.messages;
const evalsOf = (events: JobEvent[]) => events.filter((e) => e.metrics.eval_loss !== undefined).map((e) => ({ step: e.step, loss: e.metrics.eval_loss }));

function listAdapters(base: string): Promise<AdapterInfo[]> {
  return new Promise((resolve, reject) => store.listAdapters({ baseModelName: base, pageSize: 0, pageToken: '' }, (e: ServiceError | null, r) => (e ? reject(e) : resolve(r.adapters))));
}

function listModels(): Promise<ModelInfo[]> {
  return new Promise((resolve, reject) => store.listModels({ name: '', pageSize: 0, pageToken: '' }, (e: ServiceError | null, r) => (e ? reject(e) : resolve(r.models))));
}

async function runToEnd(req: StartTrainingRequest): Promise<{ jobId: string; events: JobEvent[] }> {
  const { job } = await api.start(req);
  const events = await watchJob(client, job!.jobId);
  expect(events.at(-1)!.status, events.at(-1)!.message).toBe(JobStatus.SUCCEEDED);
  await until(async () => (await jobsInStream()) === 0, 5000, 'the ack');
  return { jobId: job!.jobId, events };
}

describe('adapter-trainer: inputs from the model store', () => {
  it('trains on a stored base and a store:// dataset; the adapter is linked to that base version', async () => {
    const { jobId, events } = await runToEnd(request());
    const evals = evalsOf(events);
    expect(evals.map((e) => e.step)).toEqual([0, 8, 16]);
    expect(evals[2].loss).toBeLessThan(evals[0].loss);
    first = { jobId, evalAt0: evals[0].loss, evalAtEnd: evals[2].loss };

    const done = (await api.get(jobId)).job!;
    expect(done.output).toEqual({ name: 'adds-lora', version: jobId });
    expect(done.spec?.baseModel).toEqual(BASE);
    expect(events.at(-1)!.message).toBe(`adapter stored as adds-lora@${jobId} (base ${BASE.name}@${BASE.version})`);
    const a = (await listAdapters(BASE.name)).find((x) => x.ref?.version === jobId);
    expect(a?.baseModel).toEqual(BASE);
    // the pulled base was not imported again under another name or version
    expect((await listModels()).map((m) => `${m.ref!.name}@${m.ref!.version}`)).toEqual([`${BASE.name}@${BASE.version}`]);
    expect(existsSync(path.join(home.home, 'cache', 'models', `${BASE.name}@${BASE.version}`, 'config.json'))).toBe(true);
    expect(existsSync(path.join(home.home, 'cache', 'datasets', 'adds@1', 'train.jsonl'))).toBe(true);
  });

  it('continues the stored adapter (init_adapter): step-0 eval loss is where the first job ended', async () => {
    expect(first).toBeDefined();
    const { jobId: firstId, evalAt0, evalAtEnd } = first!;
    // the first job's local output folder goes away: the adapter comes from the model store
    await rm(path.join(home.home, 'adapters', 'adds-lora', firstId), { recursive: true });
    const { jobId, events } = await runToEnd(request({ initAdapter: { name: 'adds-lora', version: firstId }, outputName: 'adds-lora-2' }));
    const evals = evalsOf(events);
    expect(evals[0].step).toBe(0);
    // a fresh LoRA (B = 0) would start at the base's loss, evalAt0
    expect(evals[0].loss).toBeCloseTo(evalAtEnd, 4);
    expect(evals[0].loss).toBeLessThan(evalAt0 - 0.05);
    expect(existsSync(path.join(home.home, 'cache', 'adapters', `adds-lora@${firstId}`, 'adapter_config.json'))).toBe(true);

    const dir = path.join(home.home, 'adapters', 'adds-lora-2', jobId);
    const training = JSON.parse(await readFile(path.join(dir, 'tuneloop_training.json'), 'utf8')) as { method: string; initAdapter: unknown };
    expect(training).toMatchObject({ method: 'lora', initAdapter: { name: 'adds-lora', version: firstId } });
    const files = decodeAdapterFiles(await readFile(path.join(dir, 'adapter_config.json'), 'utf8'), await readFile(path.join(dir, 'adapter_model.safetensors')));
    expect(files.adapterConfig.r).toBe(4);
    const a = (await listAdapters(BASE.name)).find((x) => x.ref?.version === jobId);
    expect(a?.ref).toEqual({ name: 'adds-lora-2', version: jobId });
    expect(a?.baseModel).toEqual(BASE);
  });
});

describe('adapter-trainer: bad model-store inputs', () => {
  const cases: [string, () => StartTrainingRequest, status, RegExp][] = [
    ['unknown store base', () => request({ base: { name: 'nosuch', version: '1' } }), status.NOT_FOUND, /^spec\.base_model: no model folder at .*models\/nosuch@1 .*no model nosuch@1 in the model store/],
    ['unknown init adapter', () => request({ initAdapter: { name: 'nope-adapter', version: '9' } }), status.NOT_FOUND, /^spec\.init_adapter: adapter nope-adapter@9 is not in the model store/],
    ['method other than the init adapter', () => request({ initAdapter: { name: 'adds-lora', version: first!.jobId }, options: { method: 'vera' } }), status.INVALID_ARGUMENT, /^options\.method: "vera" disagrees with the init adapter's method \(lora\)/],
    ['method config with an init adapter', () => request({ initAdapter: { name: 'adds-lora', version: first!.jobId }, options: { rank: 8 } }), status.INVALID_ARGUMENT, /^options\.rank: must be unset with spec\.init_adapter/],
    ['init adapter that does not fit the base', () => request({ initAdapter: { name: 'misfit', version: '' } }), status.INVALID_ARGUMENT, /^spec\.init_adapter: .*misfit does not fit the base model: tensor 'base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight' has shape \[4,8\], the base's model\.layers\.0\.self_attn\.q_proj needs \[\*,16\]/],
    ['bad store:// URI', () => request({ data: 'store://adds@1/../train.jsonl' }), status.INVALID_ARGUMENT, /^dataset\.uri: store:\/\/: the file must be a plain file name/],
    ['unknown store dataset', () => request({ data: 'store://nope@1/train.jsonl' }), status.NOT_FOUND, /^dataset\.uri: store:\/\/nope@1\/train\.jsonl: /],
    ['unknown file of a stored dataset', () => request({ data: 'store://adds@1/other.jsonl' }), status.NOT_FOUND, /^dataset\.uri: .*has no file "other\.jsonl"/],
    ['another scheme', () => request({ data: 's3://bucket/train.jsonl' }), status.INVALID_ARGUMENT, /^dataset\.uri: only file paths and store:\/\/<dataset>@<version>\/<file> are supported, got "s3:\/\/bucket\/train\.jsonl"/],
  ];

  beforeAll(async () => {
    // a LoRA adapter whose layer-0 q_proj A has the wrong input width, as a local folder TUNELOOP_HOME/adapters/misfit
    expect(first).toBeDefined();
    const src = path.join(home.home, 'adapters', 'adds-lora-2');
    const [jobDir] = await readdir(src);
    const files = decodeAdapterFiles(await readFile(path.join(src, jobDir, 'adapter_config.json'), 'utf8'), await readFile(path.join(src, jobDir, 'adapter_model.safetensors')));
    files.tensors.set('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', { dtype: 'F32', shape: [4, 8], data: new Float32Array(32) });
    const out = path.join(home.home, 'adapters', 'misfit');
    await cp(path.join(src, jobDir), out, { recursive: true });
    for (const [name, bytes] of Object.entries(encodeAdapterFiles(files))) await writeFile(path.join(out, name), bytes);
  });

  it.each(cases)('%s: refused before anything is queued', async (_what, req, code, re) => {
    const before = (await (await jobsKv(bus)).keys()).length;
    const err = await errorOf(api.start(req()));
    expect(err.code, err.details).toBe(code);
    expect(err.details).toMatch(re);
    expect(await jobsInStream()).toBe(0);
    expect((await (await jobsKv(bus)).keys()).length).toBe(before);
  });
});
