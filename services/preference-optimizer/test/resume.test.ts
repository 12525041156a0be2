// A DPO job whose worker process is SIGKILLed mid-job resumes on a restarted worker from its checkpoint: the
// steps both attempts ran have the same losses (weights, AdamW moments, batches and the cached reference are the
// same), the job succeeds on the second attempt, and nothing is acked before the adapter is in the model store.
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkpointDir, readCheckpoint } from '@tuneloop/jobs';
import { connectBus, deprovision, jobsKv, provision, type Bus } from '@tuneloop/bus';
import { modelStore } from '@tuneloop/model-store';
import { DpoLossType, JobStatus, StartOptimizationRequest, type JobEvent } from '@tuneloop/proto';
import { killAfterCheckpoint, spawnUntilReady, startTestServices, type TestServices } from '@tuneloop/service-kit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { preferenceOptimizerApi } from '../src/service.ts';
import { connectStore, importModel, optimizerApi, optimizerClient, tempHome, until, watchJob } from './util.ts';

const NATS = process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222';
const prefix = `t${randomUUID().slice(0, 8)}`;
const root = fileURLToPath(new URL('../../../', import.meta.url));
let svc: TestServices;
let bus: Bus;
let h: Awaited<ReturnType<typeof tempHome>>;
const children: ChildProcess[] = [];

function startWorker(): Promise<ChildProcess> {
  return spawnUntilReady(path.join(root, 'services/preference-optimizer/test/worker-process.ts'), {
    cwd: root,
    env: { TUNELOOP_HOME: h.home, TUNELOOP_NATS_URL: NATS, TUNELOOP_NATS_PREFIX: prefix, TUNELOOP_OPTIMIZER_ACK_WAIT_MS: '2000', TUNELOOP_MODEL_STORE_ADDR: svc.target, TUNELOOP_LOG_LEVEL: 'silent', TUNELOOP_BACKEND: 'cpu' },
    children,
  });
}

beforeAll(async () => {
  h = await tempHome();
  bus = await connectBus({ url: NATS, name: 'optimizer-resume-test', prefix });
  await provision(bus, { prefix, storage: 'memory' });
  svc = await startTestServices([modelStore, preferenceOptimizerApi], { TUNELOOP_HOME: h.home, TUNELOOP_NATS_PREFIX: prefix });
  const store = connectStore(svc.target);
  await importModel(store, h.baseDir, 'tinypo');
  store.close();
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await svc?.close();
  await deprovision(bus).catch(() => undefined);
  await bus?.close();
  await h?.cleanup();
});

const jobsInStream = async () => (await bus.jsm.streams.info(bus.names.streams.jobs)).state.messages;

it('resumes a SIGKILLed DPO job from its checkpoint on a restarted worker with the same losses', async () => {
  const client = optimizerClient(svc.target);
  const first = await startWorker();
  const req = StartOptimizationRequest.fromPartial({
    spec: {
      baseModel: { name: 'tinypo', version: '1' }, outputName: 'resumed', dataset: { uri: 'prefs.jsonl' },
      training: { learningRate: 0.01, maxSteps: 30, batchSize: 8, seed: 7 },
      objective: { $case: 'dpo', value: { beta: 0.1, lossType: DpoLossType.SIGMOID, labelSmoothing: 0 } },
    },
    options: { rank: 4, checkpointEvery: 5 },
  });
  const { job } = await optimizerApi(client).start(req);
  const jobId = job!.jobId;
  const adapterDir = path.join(h.home, 'adapters', 'resumed', jobId);
  const kill = killAfterCheckpoint<JobEvent>(
    first,
    (e) => e.metrics.loss !== undefined,
    async () => {
      expect(await jobsInStream()).toBe(1);
      expect((await (await jobsKv(bus)).get(jobId))?.value.state).toBe('running');
      expect(existsSync(adapterDir)).toBe(false);
    },
    startWorker,
    async () => (await readCheckpoint(checkpointDir(h.home, jobId)))!.state.step,
  );
  const events = await watchJob(client, jobId, kill.onEvent);
  const { killedAt, checkpointed } = kill;
  client.close();
  expect(killedAt, 'the first worker was killed mid-job').toBeGreaterThan(0);
  expect(killedAt).toBeLessThan(30);
  const last = events.at(-1)!;
  expect(last.status, last.message).toBe(JobStatus.SUCCEEDED);
  expect(last.message).toBe(`adapter stored as resumed@${jobId} (base tinypo@1)`);
  const steps = (attempt: number) => events.filter((e) => e.metrics.attempt === attempt && e.step > 0 && e.metrics.loss !== undefined);
  const a1 = steps(1);
  const a2 = steps(2);
  expect(events.find((e) => e.metrics.attempt === 2 && e.message.startsWith('resumed'))?.message).toBe(`resumed from checkpoint at step ${checkpointed}`);
  expect(a2.map((e) => e.step)).toEqual(Array.from({ length: 30 - checkpointed }, (_, i) => checkpointed + 1 + i));
  const overlap = a2.filter((e) => a1.some((f) => f.step === e.step));
  expect(overlap.length).toBeGreaterThan(0);
  for (const e of overlap) expect(e.metrics.loss).toBeCloseTo(a1.find((f) => f.step === e.step)!.metrics.loss, 5);
  await until(async () => (await jobsInStream()) === 0, 5000, 'the ack after success');
  const rec = (await (await jobsKv(bus)).get(jobId))!.value;
  expect(rec.state).toBe('succeeded');
  expect(rec.attempts).toBe(2);
}, 90_000);
