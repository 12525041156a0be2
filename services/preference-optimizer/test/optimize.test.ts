// The preference optimizer end to end (real gRPC socket, real NATS with isolated names, the model store in the same
// process as under `npm start`): a DPO job on a tiny seeded model from the store with TRL metrics per step and eval_*
// on the held-out split, its adapter stored and loadable (it moves the policy's log-probs toward the chosen
// responses); a GRPO job with a verifier; cancel; NaN -> FAILED with the step; bad input -> INVALID_ARGUMENT naming
// the field before anything is queued.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { connectBus, deprovision, jobsKv, provision, type Bus } from '@tuneloop/bus';
import { initBackend } from '@tuneloop/engine';
import { loadModel } from '@tuneloop/files';
import { checkpointDir } from '@tuneloop/jobs';
import { modelStore } from '@tuneloop/model-store';
import { encodePairs, sequenceLogpSums } from '@tuneloop/objectives';
import { decodeAdapterFiles, loadAdapter } from '@tuneloop/peft';
import { DpoLossType, JobStatus, StartOptimizationRequest, type ModelStoreServiceClient, type PreferenceOptimizerServiceClient } from '@tuneloop/proto';
import { createLogger, startTestServices, type TestServices } from '@tuneloop/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preferenceOptimizerApi, startOptimizerWorkers } from '../src/service.ts';
import { adapterFile, connectStore, errorOf, importModel, optimizerApi, optimizerClient, tempHome, until, watchJob } from './util.ts';

const prefix = `t${randomUUID().slice(0, 8)}`;
const logger = createLogger({ name: 'optimizer-test', level: 'silent' });
let svc: TestServices;
let bus: Bus;
let h: Awaited<ReturnType<typeof tempHome>>;
let workers: Awaited<ReturnType<typeof startOptimizerWorkers>>;
let client: PreferenceOptimizerServiceClient;
let store: ModelStoreServiceClient;

beforeAll(async () => {
  h = await tempHome();
  bus = await connectBus({ url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'optimizer-test', prefix });
  await provision(bus, { prefix, storage: 'memory' });
  svc = await startTestServices([modelStore, preferenceOptimizerApi], { TUNELOOP_HOME: h.home, TUNELOOP_NATS_PREFIX: prefix });
  store = connectStore(svc.target);
  expect((await importModel(store, h.baseDir, 'tinypo')).ref).toEqual({ name: 'tinypo', version: '1' });
  workers = await startOptimizerWorkers(bus, { home: h.home, storeTarget: () => svc.target, logger, ackWaitMs: 5000 });
  client = optimizerClient(svc.target);
}, 60_000);

afterAll(async () => {
  client?.close();
  store?.close();
  await workers?.stop({ timeoutMs: 3000 });
  await svc?.close();
  await deprovision(bus).catch(() => undefined);
  await bus?.close();
  await h?.cleanup();
});

const jobsInStream = async () => (await bus.jsm.streams.info(bus.names.streams.jobs)).state.messages;

function dpo(over: { lr?: number; steps?: number; output?: string; beta?: number; lossType?: DpoLossType; uri?: string } = {}) {
  return StartOptimizationRequest.fromPartial({
    spec: {
      baseModel: { name: 'tinypo', version: '1' }, outputName: over.output ?? 'dpo-test', dataset: { uri: over.uri ?? 'prefs.jsonl' },
      training: { learningRate: over.lr ?? 0.02, maxSteps: over.steps ?? 8, batchSize: 8, seed: 3 },
      objective: { $case: 'dpo', value: { beta: over.beta ?? 0.1, lossType: over.lossType ?? DpoLossType.SIGMOID, labelSmoothing: 0 } },
    },
    options: { rank: 4, checkpointEvery: 4 },
  });
}

function grpo(value: Record<string, unknown>, uri = 'prompts.jsonl') {
  return StartOptimizationRequest.fromPartial({
    spec: {
      baseModel: { name: 'tinypo', version: '1' }, outputName: 'grpo-test', dataset: { uri }, training: { learningRate: 0.01, maxSteps: 3, batchSize: 4, seed: 1 },
      objective: { $case: 'grpo', value: { groupSize: 4, sampling: { maxNewTokens: 3 }, verifier: { json: '{"type":"regex","pattern":"^[0-9]+$","fullMatch":true}' }, ...value } },
    },
    options: { rank: 4 },
  });
}

const TRL = ['loss', 'rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected'];

describe('preference-optimizer jobs', () => {
  it('DPO: metrics per step by TRL names, eval_* on the held-out split, the adapter in the store before success, loadable and moving log-probs toward chosen', async () => {
    const api = optimizerApi(client);
    const { job } = await api.start(dpo());
    const jobId = job!.jobId;
    expect(jobId).toMatch(/^pref-/);
    let listedAtSuccess = false;
    const events = await watchJob(client, jobId, async (e) => {
      if (e.status === JobStatus.SUCCEEDED) {
        const r = await new Promise<{ adapters: { ref?: { name: string; version: string } }[] }>((res, rej) => store.listAdapters({ baseModelName: 'tinypo', pageSize: 0, pageToken: '' }, (err, x) => (err ? rej(err) : res(x))));
        listedAtSuccess = r.adapters.some((a) => a.ref?.name === 'dpo-test' && a.ref.version === jobId);
      }
    });
    const last = events.at(-1)!;
    expect(last.status, last.message).toBe(JobStatus.SUCCEEDED);
    expect(last.message).toBe(`adapter stored as dpo-test@${jobId} (base tinypo@1)`);
    expect(listedAtSuccess).toBe(true);
    const steps = events.filter((e) => e.step > 0 && e.metrics.loss !== undefined);
    expect(steps.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const e of steps) for (const k of TRL) expect(Number.isFinite(e.metrics[k]), `${k} at step ${e.step}`).toBe(true);
    const ready = events.find((e) => e.message === 'started')!;
    expect(ready.metrics.eval_rows).toBe(4); // 10% of 40 pairs
    expect(ready.metrics['eval_rewards/margins']).toBe(0); // the policy is the reference at step 0
    expect(ready.metrics['eval_rewards/accuracies']).toBe(0); // no margin > 0 (TRL's strict accuracy)
    expect(Number.isFinite(steps.at(-1)!.metrics['eval_rewards/accuracies'])).toBe(true);
    expect((await api.get(jobId)).job!.output).toEqual({ name: 'dpo-test', version: jobId });

    // the stored adapter loads onto the base and raises log p(chosen) - log p(rejected) over the base
    await initBackend({ quiet: true });
    const files = decodeAdapterFiles((await adapterFile(store, 'dpo-test', jobId, 'adapter_config.json')).toString('utf8'), new Uint8Array(await adapterFile(store, 'dpo-test', jobId, 'adapter_model.safetensors')));
    const { model, tokenizer } = await loadModel(h.baseDir);
    const pairs = (await readFile(path.join(h.home, 'prefs.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    const enc = encodePairs(tokenizer!, pairs);
    const margin = () => {
      const c = sequenceLogpSums(model, enc.map((p) => p.prompt), enc.map((p) => p.chosen), 0);
      const r = sequenceLogpSums(model, enc.map((p) => p.prompt), enc.map((p) => p.rejected), 0);
      return c.reduce((a, x, i) => a + x - r[i], 0) / enc.length;
    };
    const before = margin();
    const pm = loadAdapter(model, files);
    const after = margin();
    pm.unload();
    model.dispose();
    expect(after).toBeGreaterThan(before + 0.05);
    await until(async () => (await jobsInStream()) === 0, 5000, 'the ack');
  }, 60_000);

  it('GRPO: reward, pass rate, KL and clip ratio per generation batch; the adapter is stored', async () => {
    const api = optimizerApi(client);
    const { job } = await api.start(grpo({}));
    const jobId = job!.jobId;
    expect(jobId).toMatch(/^rl-/);
    const events = await watchJob(client, jobId);
    const last = events.at(-1)!;
    expect(last.status, last.message).toBe(JobStatus.SUCCEEDED);
    expect(last.message).toBe(`adapter stored as grpo-test@${jobId} (base tinypo@1)`);
    const steps = events.filter((e) => e.step > 0 && e.metrics.reward !== undefined);
    expect(steps.map((e) => e.step)).toEqual([1, 2, 3]);
    for (const e of steps) {
      for (const k of ['reward', 'pass_rate', 'kl', 'clip_ratio', 'completion_length']) expect(Number.isFinite(e.metrics[k]), `${k} at step ${e.step}`).toBe(true);
      expect(e.metrics.pass_rate).toBeGreaterThanOrEqual(0);
      expect(e.metrics.pass_rate).toBeLessThanOrEqual(1);
    }
    expect((await api.get(jobId)).job!.output).toEqual({ name: 'grpo-test', version: jobId });
  }, 60_000);

  it('cancel stops a running job; the worker acks it and takes the next one', async () => {
    const api = optimizerApi(client);
    const { job } = await api.start(dpo({ steps: 5000, output: 'dpo-cancel' }));
    const jobId = job!.jobId;
    let cancelledAt = 0;
    const events = await watchJob(client, jobId, async (e) => {
      if (!cancelledAt && e.step >= 1 && e.metrics.loss !== undefined) {
        cancelledAt = Date.now();
        expect((await api.cancel(jobId)).job!.status).toBe(JobStatus.CANCELLED);
      }
    });
    expect(events.at(-1)!.status).toBe(JobStatus.CANCELLED);
    await until(async () => (await jobsInStream()) === 0, 5000, 'the cancelled job to be acked');
    expect(Date.now() - cancelledAt).toBeLessThan(6000);
    expect((await errorOf(api.cancel(jobId))).code).toBe(status.FAILED_PRECONDITION);
    const again = await api.start(dpo({ steps: 2, output: 'dpo-after-cancel' }));
    expect((await watchJob(client, again.job!.jobId)).at(-1)!.status).toBe(JobStatus.SUCCEEDED);
  }, 60_000);

  it('a non-finite loss fails the job with the step and the reason; the last good checkpoint stays on disk', async () => {
    const api = optimizerApi(client);
    const req = dpo({ lr: 1e30, steps: 20, output: 'dpo-nan' });
    req.options!.checkpointEvery = 1;
    const { job } = await api.start(req);
    const jobId = job!.jobId;
    const events = await watchJob(client, jobId);
    const last = events.at(-1)!;
    expect(last.status, last.message).toBe(JobStatus.FAILED);
    const m = /^step (\d+): (loss|gradient norm) is (NaN|-?Infinity)$/.exec((await api.get(jobId)).job!.error);
    expect(m, (await api.get(jobId)).job!.error).not.toBeNull();
    const failedStep = Number(m![1]);
    expect(failedStep).toBeGreaterThan(1);
    expect(events.filter((e) => e.metrics.loss !== undefined && e.step > 0).map((e) => e.step)).toEqual(Array.from({ length: failedStep - 1 }, (_, i) => i + 1));
    const state = JSON.parse(await readFile(path.join(checkpointDir(h.home, jobId), 'trainer_state.json'), 'utf8'));
    expect(state.step).toBe(failedStep - 1);
    expect(existsSync(path.join(h.home, 'adapters', 'dpo-nan', jobId))).toBe(false);
    await until(async () => (await jobsInStream()) === 0, 5000, 'the failed job to be acked');
  }, 60_000);

  it('bad input is INVALID_ARGUMENT naming the field, before anything is queued', async () => {
    const api = optimizerApi(client);
    const w = (name: string, text: string) => writeFile(path.join(h.home, name), text);
    await w('same.jsonl', '{"prompt":"1+1=","chosen":"2","rejected":"3"}\n{"prompt":"1+2=","chosen":"3","rejected":"3"}\n');
    await w('empty.jsonl', '{"prompt":"1+1=","chosen":"2","rejected":"3"}\n{"prompt":"1+2=","chosen":"3","rejected":"4"}\n{"prompt":"1+3=","chosen":" ","rejected":"5"}\n');
    await w('badline.jsonl', '{"prompt":"1+1=","chosen":"2","rejected":"3"}\n{"prompt":"1+2=","chosen":"3","rejected":"4"}\n\n{"prompt": oops\n');
    await w('long.jsonl', JSON.stringify({ prompt: '1+1=1+1=1+1=1+1=1+1=1+1=1+1=1+1=', answer: '2' }) + '\n');
    const kv = await jobsKv(bus);
    const recordsBefore = (await kv.keys()).length;
    const cases: [StartOptimizationRequest, RegExp][] = [
      [dpo({ uri: 'same.jsonl' }), /^spec\.dataset\.uri: same\.jsonl: line 2: .*identical/],
      [dpo({ uri: 'empty.jsonl' }), /^spec\.dataset\.uri: empty\.jsonl: line 3: "chosen": must not be empty/],
      [dpo({ uri: 'badline.jsonl' }), /^spec\.dataset\.uri: badline\.jsonl: line 4: not valid JSON/],
      [dpo({ lossType: 9 as DpoLossType }), /^spec\.dpo\.loss_type: unknown loss type 9/],
      [dpo({ beta: -0.5 }), /^spec\.dpo\.beta: must be > 0, got -0\.5/],
      [grpo({ groupSize: 1 }), /^spec\.grpo\.group_size: must be an integer >= 2, got 1/],
      [grpo({ verifier: { json: '{"type":"telepathy"}' } }), /^spec\.grpo\.verifier\.type: unknown verifier "telepathy"/],
      [grpo({ verifier: { kind: { $case: 'jsonSchema', value: { schemaJson: '{"type":"nope"}' } } } }), /^spec\.grpo\.verifier\.schema: .*JSON Schema/],
      [grpo({ verifier: { kind: { $case: 'jsonSchema', value: { schemaJson: '{nope' } } } }), /^spec\.grpo\.verifier\.json_schema\.schema_json: is not valid JSON/],
      [grpo({}, 'long.jsonl'), /^spec\.dataset\.uri: long\.jsonl: line 1: prompt of 33 tokens \+ maxNewTokens 3 exceeds the context length 32/],
      [grpo({ verifier: undefined }), /^spec\.grpo\.verifier: required/],
      [StartOptimizationRequest.fromPartial({ spec: { ...dpo().spec, objective: { $case: 'ppo', value: {} } } }), /^spec\.ppo\.reward_model: required/],
      [StartOptimizationRequest.fromPartial({ spec: { ...dpo().spec, objective: undefined } }), /^spec\.objective: required/],
    ];
    for (const [req, want] of cases) {
      const err = await errorOf(api.start(req));
      expect(err.code, `${want}: ${err.details}`).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toMatch(want);
    }
    const missing = await errorOf(api.start(StartOptimizationRequest.fromPartial({ spec: { ...dpo().spec, baseModel: { name: 'no-such-model', version: '' } } })));
    expect(missing.code).toBe(status.NOT_FOUND);
    expect((await kv.keys()).length).toBe(recordsBefore);
  }, 30_000);
});

