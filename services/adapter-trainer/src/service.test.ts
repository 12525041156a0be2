// adapter-trainer over a real gRPC socket and the real NATS server (isolated names): bad input is refused with
// INVALID_ARGUMENT before anything is queued; a small LoRA job trains end to end in its worker thread (eval loss
// falls, adapter stored in PEFT format and in the model store, then acked) while health and GetTrainingJob keep
// answering; cancel. The model store runs in the same process, as under `npm start`.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { credentials, status } from '@grpc/grpc-js';
import { connectBus, deprovision, jobsKv, provision, type Bus } from '@tuneloop/bus';
import { decodeAdapterFiles } from '@tuneloop/peft';
import { HealthCheckResponse_ServingStatus, HealthClient, JobStatus, StartTrainingRequest, type JobEvent } from '@tuneloop/proto';
import { modelStore } from '@tuneloop/model-store';
import { ModelStoreServiceClient, type ListAdaptersResponse } from '@tuneloop/proto';
import { startTestServices, type TestServices } from '@tuneloop/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { additionsJsonl, tempHome } from './testing.ts';
import { errorOf, trainerApi, trainerClient, until, watchJob } from '../test/grpc-util.ts';
import { SERVICE_NAME, adapterTrainer } from './service.ts';

const prefix = `t${randomUUID().slice(0, 8)}`;
let svc: TestServices;
let bus: Bus;
let home: Awaited<ReturnType<typeof tempHome>>;
let client: ReturnType<typeof trainerClient>;
let api: ReturnType<typeof trainerApi>;

beforeAll(async () => {
  home = await tempHome(64);
  bus = await connectBus({ url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'trainer-test', prefix });
  await provision(bus, { prefix, storage: 'memory' });
  svc = await startTestServices([modelStore, adapterTrainer], { TUNELOOP_HOME: home.home, TUNELOOP_NATS_PREFIX: prefix });
  client = trainerClient(svc.target);
  api = trainerApi(client);
});

afterAll(async () => {
  client?.close();
  await svc?.close();
  await deprovision(bus).catch(() => undefined);
  await bus?.close();
  await home?.cleanup();
});

function request(over: { options?: object; training?: object; data?: string; method?: object } = {}): StartTrainingRequest {
  return StartTrainingRequest.fromPartial({
    spec: {
      baseModel: { name: 'tiny' },
      outputName: 'add-lora',
      dataset: { uri: over.data ?? 'add.jsonl' },
      training: { learningRate: 0.02, maxSteps: 30, batchSize: 8, maxGradNorm: 1, seed: 1, ...over.training },
      ...(over.method ?? {}),
    },
    options: { method: 'lora', rank: 4, targetModules: ['all-linear'], evalEvery: 10, checkpointEvery: 10, ...over.options },
  });
}

const jobsInStream = async () => (await bus.jsm.streams.info(bus.names.streams.jobs)).state.messages;

function health(): Promise<{ status: number; ms: number }> {
  const h = new HealthClient(svc.target, credentials.createInsecure());
  const t0 = performance.now();
  return new Promise((resolve, reject) =>
    h.check({ service: SERVICE_NAME }, (err, r) => {
      h.close();
      if (err) reject(err);
      else resolve({ status: r.status, ms: performance.now() - t0 });
    }),
  );
}

describe('adapter-trainer: bad input', () => {
  it.each([
    ['unknown method', request({ options: { method: 'lorax' } }), /unknown PEFT method 'lorax'/],
    ['rank 0 (PEFT config)', request({ options: { rank: 0, methodConfigJson: '{"r": 0}' } }), /r: must be an integer >= 1, got 0/],
    ['negative rank', request({ options: { rank: -2 } }), /rank: must be an integer >= 1, got -2/],
    ['target module not in the model', request({ options: { targetModules: ['foo_proj'] } }), /'foo_proj' is not a linear module of the model/],
    ['dataset line not valid JSON', request({ data: 'bad-json.jsonl' }), /bad-json\.jsonl: line 3: not valid JSON/],
    ['dataset line lacking a field', request({ data: 'no-completion.jsonl' }), /no-completion\.jsonl: line 2: missing field "completion"/],
    ['sequence longer than the context (reject)', request({ data: 'long.jsonl' }), /long\.jsonl: line 2: sequence of 46 tokens is longer than the limit of 32/],
    ['sequence longer than max_seq_length', request({ training: { maxSeqLength: 6 } }), /add\.jsonl: line 1: sequence of 7 tokens is longer than the limit of 6/],
    ['max_seq_length beyond the context', request({ training: { maxSeqLength: 64 } }), /training\.max_seq_length: must be <= the model's context \(max_position_embeddings 32\), got 64/],
    ['missing base model', request({ method: { baseModel: { name: 'nope' } } }), /no model folder at .*models\/nope/],
  ])('%s: refused before anything is queued', async (_what, req, re) => {
    const good = additionsJsonl(4);
    await writeFile(path.join(home.home, 'bad-json.jsonl'), `${good.split('\n').slice(0, 2).join('\n')}\n{"prompt": "1+1=", \n`);
    await writeFile(path.join(home.home, 'no-completion.jsonl'), `${good.split('\n')[0]}\n{"prompt": "1+1="}\n`);
    await writeFile(path.join(home.home, 'long.jsonl'), `${good.split('\n')[0]}\n${JSON.stringify({ prompt: '1+1=', completion: '2'.repeat(40) })}\n`);
    const err = await errorOf(api.start(req));
    const expected = _what === 'missing base model' ? status.NOT_FOUND : status.INVALID_ARGUMENT;
    expect(err.code, err.details).toBe(expected);
    expect(err.details).toMatch(re);
    expect(await jobsInStream()).toBe(0);
    expect(await (await jobsKv(bus)).keys()).toEqual([]);
  });

  it('over-long sequences are accepted with overlong "truncate" (then cancelled)', async () => {
    const res = await api.start(request({ data: 'long.jsonl', options: { overlong: 'truncate' }, training: { maxSteps: 1 } }));
    const job = res.job!;
    expect(job.status).toBe(JobStatus.QUEUED);
    // it may already have finished (1 step): then cancel is FAILED_PRECONDITION
    const c = await api.cancel(job.jobId).then((r) => r.job?.status, (e: { code: number }) => e.code);
    expect([JobStatus.CANCELLED, status.FAILED_PRECONDITION]).toContain(c);
    await until(async () => (await jobsInStream()) === 0, 20_000, 'the truncated job to leave the queue');
  });
});

describe('adapter-trainer: a small LoRA job end to end', () => {
  it('trains in a worker thread: eval loss falls, health and GetTrainingJob answer meanwhile, adapter stored before ack', async () => {
    const { job } = await api.start(request({ training: { maxSteps: 40 } }));
    expect(job!.status).toBe(JobStatus.QUEUED);
    const probes: { status: number; ms: number }[] = [];
    const during: number[] = [];
    const events = await watchJob(client, job!.jobId, async (e: JobEvent) => {
      if (e.status === JobStatus.RUNNING && e.step > 0 && e.step < 35 && probes.length < 3) {
        probes.push(await health());
        during.push((await api.get(job!.jobId)).job!.status);
      }
    });
    const last = events.at(-1)!;
    expect(last.status, last.message).toBe(JobStatus.SUCCEEDED);
    expect(probes.length).toBeGreaterThan(0);
    for (const p of probes) {
      expect(p.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      expect(p.ms).toBeLessThan(1000);
    }
    expect(during.every((s) => s === JobStatus.RUNNING)).toBe(true);
    const steps = events.filter((e) => e.step > 0 && e.loss > 0);
    expect(steps.map((e) => e.step)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    for (const e of steps) {
      expect(e.learningRate).toBeGreaterThan(0);
      expect(e.metrics.grad_norm).toBeGreaterThan(0);
      expect(e.metrics.tokens_per_second).toBeGreaterThan(0);
      expect(e.metrics.eta_seconds).toBeGreaterThanOrEqual(0);
    }
    const evals = events.filter((e) => e.metrics.eval_loss !== undefined).map((e) => ({ step: e.step, loss: e.metrics.eval_loss }));
    expect(evals.map((e) => e.step)).toEqual([0, 10, 20, 30, 40]);
    expect(evals.at(-1)!.loss).toBeLessThan(evals[0].loss * 0.8);

    const done = (await api.get(job!.jobId)).job!;
    expect(done.status).toBe(JobStatus.SUCCEEDED);
    expect(done.output).toEqual({ name: 'add-lora', version: job!.jobId });
    const dir = path.join(home.home, 'adapters', 'add-lora', job!.jobId);
    const files = decodeAdapterFiles(await readFile(path.join(dir, 'adapter_config.json'), 'utf8'), await readFile(path.join(dir, 'adapter_model.safetensors')));
    expect(files.adapterConfig.peft_type).toBe('LORA');
    expect(files.adapterConfig.r).toBe(4);
    expect([...files.tensors.keys()]).toContain('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    expect(existsSync(path.join(home.home, 'jobs', job!.jobId, 'checkpoint', 'trainer_state.json'))).toBe(true);
    await until(async () => (await jobsInStream()) === 0, 5000, 'the ack');

    const list = await api.list(JobStatus.SUCCEEDED);
    expect(list.jobs.map((j) => j.jobId)).toContain(job!.jobId);

    // in the model store (same process), linked to the base folder imported as tiny@1
    const store = new ModelStoreServiceClient(svc.target, credentials.createInsecure());
    const stored = await new Promise<ListAdaptersResponse>((resolve, reject) => store.listAdapters({ baseModelName: 'tiny', pageSize: 0, pageToken: '' }, (e, r) => (e ? reject(e) : resolve(r))));
    store.close();
    const a = stored.adapters.find((x) => x.ref?.version === job!.jobId);
    expect(a?.ref).toEqual({ name: 'add-lora', version: job!.jobId });
    expect(a?.baseModel).toEqual({ name: 'tiny', version: '1' });
    expect(a?.peftType).toBe('LORA');
    expect(last.message).toBe(`adapter stored as add-lora@${job!.jobId} (base tiny@1, imported)`);
  });

  it('cancels a running job: the watch ends CANCELLED and the worker lets the job go', async () => {
    const { job } = await api.start(request({ training: { maxSteps: 5000 } }));
    let cancelled = false;
    const events = await watchJob(client, job!.jobId, async (e) => {
      if (!cancelled && e.step >= 3) {
        cancelled = true;
        const r = await api.cancel(job!.jobId);
        expect(r.job!.status).toBe(JobStatus.CANCELLED);
      }
    });
    expect(events.at(-1)!.status).toBe(JobStatus.CANCELLED);
    await until(async () => (await jobsInStream()) === 0, 10_000, 'the cancelled job to be acked');
    const again = await errorOf(api.cancel(job!.jobId));
    expect(again.code).toBe(status.FAILED_PRECONDITION);
    expect(existsSync(path.join(home.home, 'adapters', 'add-lora', job!.jobId))).toBe(false);
  });

  it('answers NOT_FOUND for an unknown job and INVALID_ARGUMENT for a malformed id', async () => {
    expect((await errorOf(api.get('sft-nope'))).code).toBe(status.NOT_FOUND);
    expect((await errorOf(api.get('a.b'))).code).toBe(status.INVALID_ARGUMENT);
  });
});
