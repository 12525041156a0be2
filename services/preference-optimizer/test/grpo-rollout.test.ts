// GRPO sampling on the rollout service (options.rollout = "service"), with the model store, the rollout service (its
// in-process worker) and the optimizer in one process as under `npm start` (real gRPC socket, real NATS): every
// generation batch pushes the policy's adapter as <jobId>-policy@b<batch>, the rollout worker pulls exactly those
// versions and samples, the versions are deleted as the job goes, and the trained adapter is stored; the same job
// sampling in its own thread has the same rewards and losses batch for batch. Bad input:
// "service" for another objective, for full fine-tuning, or on a local base folder is INVALID_ARGUMENT.
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { connectBus, deprovision, provision, type Bus } from '@tuneloop/bus';
import { modelStore } from '@tuneloop/model-store';
import { DpoLossType, JobStatus, StartOptimizationRequest, type ListAdaptersResponse, type ModelStoreServiceClient, type PreferenceOptimizerServiceClient } from '@tuneloop/proto';
import { rollout } from '@tuneloop/rollout';
import { startTestServices, unaryCall, type TestServices } from '@tuneloop/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preferenceOptimizer } from '../src/service.ts';
import { connectStore, errorOf, importModel, optimizerApi, optimizerClient, tempHome, watchJob } from './util.ts';

const prefix = `t${randomUUID().slice(0, 8)}`;
let svc: TestServices;
let bus: Bus;
let h: Awaited<ReturnType<typeof tempHome>>;
let client: PreferenceOptimizerServiceClient;
let store: ModelStoreServiceClient;

beforeAll(async () => {
  h = await tempHome();
  bus = await connectBus({ url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'grpo-rollout-test', prefix });
  await provision(bus, { prefix, storage: 'memory' });
  svc = await startTestServices([modelStore, rollout, preferenceOptimizer], { TUNELOOP_HOME: h.home, TUNELOOP_NATS_PREFIX: prefix, TUNELOOP_BACKEND: 'cpu' });
  store = connectStore(svc.target);
  await importModel(store, h.baseDir, 'tinygr');
  client = optimizerClient(svc.target);
}, 60_000);

afterAll(async () => {
  client?.close();
  store?.close();
  await svc?.close();
  await deprovision(bus).catch(() => undefined);
  await bus?.close();
  await h?.cleanup();
});

function grpo(over: { base?: string; version?: string; method?: string; rollout?: string } = {}) {
  return StartOptimizationRequest.fromPartial({
    spec: {
      baseModel: { name: over.base ?? 'tinygr', version: over.version ?? '1' }, outputName: 'grpo-rollout', dataset: { uri: 'prompts.jsonl', format: 5 },
      training: { learningRate: 0.01, maxSteps: 3, batchSize: 4, seed: 1 },
      objective: { $case: 'grpo', value: { groupSize: 4, verifier: { json: '{"type":"regex","pattern":"[0-9]"}' }, sampling: { maxNewTokens: 3 } } },
    },
    options: { rank: 4, rollout: over.rollout ?? 'service', ...(over.method ? { method: over.method } : {}) },
  });
}

const adapters = async () => (await unaryCall<ListAdaptersResponse>((cb) => store.listAdapters({ baseModelName: '', pageSize: 1000, pageToken: '' }, cb))).adapters.map((a) => `${a.ref!.name}@${a.ref!.version}`);

describe('GRPO on the rollout service', () => {
  it('pushes the adapter every batch, samples on the rollout worker, cleans up and stores the trained adapter', async () => {
    const { job } = await optimizerApi(client).start(grpo());
    const jobId = job!.jobId;
    const events = await watchJob(client, jobId);
    const last = events.at(-1)!;
    expect(last.status, last.message).toBe(JobStatus.SUCCEEDED);
    const steps = events.filter((e) => e.step > 0 && e.metrics.reward !== undefined);
    expect(steps.map((e) => e.step)).toEqual([1, 2, 3]);
    for (const e of steps) {
      expect(e.metrics.sync_seconds).toBeGreaterThan(0);
      expect(e.metrics.rollout_seconds).toBeGreaterThan(0);
      expect(Number.isFinite(e.metrics.loss)).toBe(true);
    }
    // the rollout worker pulled each batch's policy version from the store
    const cached = (await readdir(path.join(h.home, 'cache', 'rollout', 'adapters'))).filter((d) => d.startsWith(`${jobId}-policy@`)).sort();
    expect(cached).toEqual([`${jobId}-policy@b0`, `${jobId}-policy@b1`, `${jobId}-policy@b2`]);
    // the synced versions are gone from the store; the trained adapter is there
    const stored = await adapters();
    expect(stored.filter((a) => a.startsWith(`${jobId}-policy@`))).toEqual([]);
    expect(stored).toContain(`grpo-rollout@${jobId}`);

    // the same job sampling in its own thread: the rollout workers sampled the same tokens from the synced weights
    // (same seeds, same per-sequence sampling), so every batch has the same rewards and losses
    const local = await optimizerApi(client).start(grpo({ rollout: 'local' }));
    const localEvents = await watchJob(client, local.job!.jobId);
    expect(localEvents.at(-1)!.status).toBe(JobStatus.SUCCEEDED);
    const curve = (es: typeof events) => es.filter((e) => e.step > 0 && e.metrics.reward !== undefined).map((e) => [e.step, e.metrics.reward, e.metrics.loss]);
    expect(curve(localEvents)).toEqual(curve(events));
  }, 120_000);

  it('"service" for another objective, for full fine-tuning or on a local folder base is INVALID_ARGUMENT naming options.rollout', async () => {
    const dpo = StartOptimizationRequest.fromPartial({
      spec: { baseModel: { name: 'tinygr', version: '1' }, dataset: { uri: 'prefs.jsonl' }, objective: { $case: 'dpo', value: { beta: 0.1, lossType: DpoLossType.SIGMOID, labelSmoothing: 0 } } },
      options: { rollout: 'service' },
    });
    for (const [req, re] of [
      [dpo, /options\.rollout.*"service" is for grpo/],
      [grpo({ method: 'full' }), /options\.rollout.*needs an adapter method, got full/],
      [grpo({ base: h.baseDir, version: '' }), /options\.rollout.*is a local folder/],
      [StartOptimizationRequest.fromPartial({ ...grpo(), options: { rollout: 'remote' } }), /options\.rollout: must be "local" or "service", got "remote"/],
    ] as const) {
      const err = await errorOf(optimizerApi(client).start(req));
      expect(err.code, err.details).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toMatch(re);
    }
  });
});
