// The best-of-N job as a pipeline of real services in one process (as under `npm start`; real gRPC socket, real NATS
// with isolated names): the rollout service samples and scores N completions per prompt on its worker, the winners
// become a dataset version in the model store, and the adapter trainer's SFT job trains on them and stores the
// adapter; the optimizer job relays the SFT steps and reports the adapter. A second run of the same job (a
// redelivery) reuses the winners and attaches to the same SFT job; cancelling the job cancels its SFT job. Bad input:
// a local init adapter is refused.
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { adapterTrainer } from '@tuneloop/adapter-trainer';
import { connectBus, deprovision, jobsKv, provision, type Bus } from '@tuneloop/bus';
import { checkpointDir, describeDataset, fetchDatasetFile, type JobThreadMessage } from '@tuneloop/jobs';
import { modelStore } from '@tuneloop/model-store';
import { AdapterTrainerServiceClient, JobStatus, StartOptimizationRequest, type Job, type ListTrainingJobsResponse, type ModelStoreServiceClient, type PreferenceOptimizerServiceClient } from '@tuneloop/proto';
import { rollout } from '@tuneloop/rollout';
import { startTestServices, unaryCall, type TestServices } from '@tuneloop/service-kit';
import { credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preferenceOptimizer } from '../src/service.ts';
import { runBestOfNPipeline, sftJobIdOf, WINNERS_FILE } from '../src/train/best-of-n-pipeline.ts';
import type { OptimizeJobSpec } from '../src/job-spec.ts';
import { adapterFile, connectStore, errorOf, importModel, optimizerApi, optimizerClient, promptsJsonl, tempHome, until, watchJob } from './util.ts';

const prefix = `t${randomUUID().slice(0, 8)}`;
let svc: TestServices;
let bus: Bus;
let h: Awaited<ReturnType<typeof tempHome>>;
let client: PreferenceOptimizerServiceClient;
let trainer: AdapterTrainerServiceClient;
let store: ModelStoreServiceClient;
let stored: { name: string; version: string } | undefined; // the first test's adapter

beforeAll(async () => {
  h = await tempHome();
  await writeFile(path.join(h.home, 'eval-prompts.jsonl'), promptsJsonl(12, 9));
  bus = await connectBus({ url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'best-of-n-test', prefix });
  await provision(bus, { prefix, storage: 'memory' });
  svc = await startTestServices([modelStore, rollout, adapterTrainer, preferenceOptimizer], { TUNELOOP_HOME: h.home, TUNELOOP_NATS_PREFIX: prefix, TUNELOOP_BACKEND: 'cpu' });
  store = connectStore(svc.target);
  await importModel(store, h.baseDir, 'tinybon');
  client = optimizerClient(svc.target);
  trainer = new AdapterTrainerServiceClient(svc.target, credentials.createInsecure());
}, 60_000);

afterAll(async () => {
  client?.close();
  trainer?.close();
  store?.close();
  await svc?.close();
  await deprovision(bus).catch(() => undefined);
  await bus?.close();
  await h?.cleanup();
});

function bestOfN(over: { initAdapter?: { name: string; version: string }; steps?: number } = {}) {
  return StartOptimizationRequest.fromPartial({
    spec: {
      baseModel: { name: 'tinybon', version: '1' }, outputName: 'bon-test', dataset: { uri: 'prompts.jsonl', format: 5 },
      ...(over.initAdapter ? { initAdapter: over.initAdapter } : {}),
      training: { learningRate: 0.01, maxSteps: over.steps ?? 4, batchSize: 4, seed: 1 },
      objective: { $case: 'bestOfN', value: { n: 4, keepTopK: 0, verifier: { json: '{"type":"regex","pattern":"^[0-9]"}' }, sampling: { maxNewTokens: 8, temperature: 1 } } },
    },
    options: { rank: 4, evalDataset: { uri: 'eval-prompts.jsonl', format: 5 } },
  });
}

const trainingJobs = async () => (await unaryCall<ListTrainingJobsResponse>((cb) => trainer.listTrainingJobs({ pageSize: 100, pageToken: '', status: 0 }, cb))).jobs;

describe('best-of-N through the rollout service and the adapter trainer', () => {
  it('samples on the rollout workers, stores the winners, fine-tunes through an SFT job and reports its adapter', async () => {
    const { job } = await optimizerApi(client).start(bestOfN());
    const events = await watchJob(client, job!.jobId);
    const last = events.at(-1)!;
    expect(last.status, last.message).toBe(JobStatus.SUCCEEDED);
    const sftJobId = /adapter-trainer job (\S+)/.exec(events.find((e) => e.message.startsWith('SFT on the winners'))?.message ?? '')?.[1];
    expect(sftJobId).toBe(sftJobIdOf(job!.jobId));
    stored = { name: 'bon-test', version: sftJobId! };
    expect(last.message).toBe(`adapter stored as bon-test@${sftJobId} by the adapter trainer's SFT job ${sftJobId}`);
    const kept = /(\d+) of 24 prompts kept a winner/.exec(events.map((e) => e.message).join('\n'));
    expect(Number(kept?.[1])).toBeGreaterThan(0);
    // the SFT steps, relayed with their losses, once each
    const steps = events.filter((e) => e.loss > 0 && e.step > 0).map((e) => e.step);
    expect(steps).toEqual([1, 2, 3, 4]);
    // held-out greedy pass@1 measured before (ready) and after (final metrics)
    const ready = events.find((e) => e.metrics.eval_pass_at_1 !== undefined && e.step === 0);
    expect(ready?.metrics.eval_prompts).toBe(12);
    const final = (await optimizerApi(client).get(job!.jobId)).job!;
    expect(final.output).toEqual({ name: 'bon-test', version: sftJobId });

    // the SFT job on the adapter trainer: the winners dataset of this job, and the adapter it stored
    const sft = (await unaryCall<{ job?: Job }>((cb) => trainer.getTrainingJob({ jobId: sftJobId! }, cb))).job!;
    expect(sft.status).toBe(JobStatus.SUCCEEDED);
    expect(sft.spec?.dataset?.uri).toBe(`store://${job!.jobId}-winners@1/${WINNERS_FILE}`);
    expect(sft.spec?.baseModel).toEqual({ name: 'tinybon', version: '1' });
    expect(sft.output).toEqual({ name: 'bon-test', version: sftJobId });
    const ds = await describeDataset(svc.target, `${job!.jobId}-winners`, '1');
    expect(ds.files.map((f) => f.path)).toContain(WINNERS_FILE);
    const rows = new TextDecoder().decode((await fetchDatasetFile(svc.target, { name: `${job!.jobId}-winners`, version: '1', path: WINNERS_FILE })).data)
      .trim().split('\n').map((l) => JSON.parse(l) as { prompt: string; completion: string });
    expect(rows.length).toBe(Number(kept![1]));
    for (const r of rows) expect(r.prompt).toMatch(/^\d\+\d=$/);

    // a redelivery of the same job: the winners are reused and the same SFT job is attached to (no second one)
    const before = (await trainingJobs()).length;
    const resolved = (await (await jobsKv(bus)).get(job!.jobId))!.value.spec as unknown as { resolved: OptimizeJobSpec };
    const home = await mkdtemp(path.join(os.tmpdir(), 'tuneloop-bon-again-'));
    try {
      const out: JobThreadMessage[] = [];
      const again = await runBestOfNPipeline({ jobId: job!.jobId, home: h.home, spec: resolved.resolved, attempt: 2, checkpointDir: checkpointDir(home, job!.jobId) }, (m) => out.push(m));
      expect(again.sftJobId).toBe(sftJobId);
      expect(again.output).toEqual({ name: 'bon-test', version: sftJobId });
      expect(out.some((m) => m.type === 'log' && m.message === `winners from an earlier attempt: dataset ${job!.jobId}-winners@1`)).toBe(true);
      expect(out.some((m) => m.type === 'log' && /prompts kept a winner/.test(m.message))).toBe(false);
      expect((await trainingJobs()).length).toBe(before);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }, 180_000);

  it('cancelling the best-of-N job cancels its SFT job on the adapter trainer', async () => {
    const { job } = await optimizerApi(client).start(bestOfN({ steps: 2000 }));
    const sftJobId = sftJobIdOf(job!.jobId);
    let cancelled = false;
    const events = await watchJob(client, job!.jobId, async (e) => {
      if (!cancelled && e.step >= 2 && e.loss > 0) {
        cancelled = true;
        await optimizerApi(client).cancel(job!.jobId);
      }
    });
    expect(cancelled).toBe(true);
    expect(events.at(-1)!.status).toBe(JobStatus.CANCELLED);
    const sft = async () => (await unaryCall<{ job?: Job }>((cb) => trainer.getTrainingJob({ jobId: sftJobId }, cb))).job!;
    await until(async () => (await sft()).status === JobStatus.CANCELLED, 10_000, 'the SFT job to be cancelled');
    expect((await sft()).lastEvent!.step).toBeLessThan(2000);
  }, 120_000);

  it('a local init adapter is refused naming spec.init_adapter (the rollout workers load adapters from the store)', async () => {
    // the first test's adapter as a local folder
    expect(stored).toBeDefined();
    const dir = path.join(h.home, 'local-adapter');
    await mkdir(dir, { recursive: true });
    for (const f of ['adapter_config.json', 'adapter_model.safetensors']) await writeFile(path.join(dir, f), await adapterFile(store, stored!.name, stored!.version, f));
    const err = await errorOf(optimizerApi(client).start(bestOfN({ initAdapter: { name: dir, version: '' } })));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/spec\.init_adapter/);
  });
});
