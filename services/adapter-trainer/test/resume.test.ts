// Kill and resume: a real worker process is SIGKILLed mid-job; the job stays un-acked (no adapter yet), a
// restarted worker gets it redelivered, resumes from the last checkpoint (same weights, AdamW moments, step
// and data order: the losses of re-run steps match), completes, stores the adapter, and only then acks.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { checkpointDir, readCheckpoint } from '@tuneloop/jobs';
import { connectBus, deprovision, jobsKv, provision, type Bus } from '@tuneloop/bus';
import { JobStatus, StartTrainingRequest, type JobEvent } from '@tuneloop/proto';
import { modelStore } from '@tuneloop/model-store';
import { killAfterCheckpoint, spawnUntilReady, startTestServices, type TestServices } from '@tuneloop/service-kit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adapterTrainerApi } from '../src/service.ts';
import { tempHome } from '../src/testing.ts';
import { trainerApi, trainerClient, until, watchJob } from './grpc-util.ts';

const NATS = process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222';
const prefix = `t${randomUUID().slice(0, 8)}`;
const root = fileURLToPath(new URL('../../../', import.meta.url));
let svc: TestServices;
let bus: Bus;
let home: Awaited<ReturnType<typeof tempHome>>;
const children: ChildProcess[] = [];

function startWorker(): Promise<ChildProcess> {
  return spawnUntilReady(path.join(root, 'services/adapter-trainer/test/worker-process.ts'), {
    cwd: root,
    env: { TUNELOOP_HOME: home.home, TUNELOOP_NATS_URL: NATS, TUNELOOP_NATS_PREFIX: prefix, TUNELOOP_TRAINER_ACK_WAIT_MS: '2000', TUNELOOP_MODEL_STORE_ADDR: svc.target, TUNELOOP_LOG_LEVEL: 'silent', TUNELOOP_BACKEND: 'cpu' },
    children,
  });
}

beforeAll(async () => {
  home = await tempHome(64);
  bus = await connectBus({ url: NATS, name: 'resume-test', prefix });
  await provision(bus, { prefix, storage: 'memory' });
  svc = await startTestServices([modelStore, adapterTrainerApi], { TUNELOOP_HOME: home.home, TUNELOOP_NATS_PREFIX: prefix });
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await svc?.close();
  await deprovision(bus).catch(() => undefined);
  await bus?.close();
  await home?.cleanup();
});

const jobsInStream = async () => (await bus.jsm.streams.info(bus.names.streams.jobs)).state.messages;

it('resumes a SIGKILLed job from its checkpoint on a restarted worker; nothing is acked before the adapter is stored', async () => {
  const client = trainerClient(svc.target);
  const first = await startWorker();
  const req = StartTrainingRequest.fromPartial({
    spec: { baseModel: { name: 'tiny' }, outputName: 'resumed', dataset: { uri: 'add.jsonl' }, training: { learningRate: 0.02, maxSteps: 60, batchSize: 8, maxGradNorm: 1, seed: 7 } },
    options: { method: 'lora', rank: 4, targetModules: ['all-linear'], checkpointEvery: 10, evalEvery: 0 },
  });
  const { job } = await trainerApi(client).start(req);
  const jobId = job!.jobId;
  const adapterDir = path.join(home.home, 'adapters', 'resumed', jobId);
  let adapterOnSuccess: boolean | undefined;
  let storedOnSuccess = '';
  const kill = killAfterCheckpoint<JobEvent>(
    first,
    (e) => e.loss > 0,
    async () => {
      // killed mid-job: still queued in JetStream (un-acked), still running in KV, no adapter
      expect(await jobsInStream()).toBe(1);
      expect((await (await jobsKv(bus)).get(jobId))?.value.state).toBe('running');
      expect(existsSync(adapterDir)).toBe(false);
    },
    startWorker,
    async () => (await readCheckpoint(checkpointDir(home.home, jobId)))!.state.step,
  );
  const events = await watchJob(client, jobId, (e: JobEvent) => {
    kill.onEvent(e);
    if (e.status === JobStatus.SUCCEEDED) {
      adapterOnSuccess = existsSync(path.join(adapterDir, 'adapter_model.safetensors'));
      storedOnSuccess = e.message;
    }
  });
  client.close();
  const { killedAt, checkpointed } = kill;
  expect(killedAt, 'the first worker was killed mid-job').toBeGreaterThan(0);
  expect(killedAt).toBeLessThan(60);
  const last = events.at(-1)!;
  expect(last.status, last.message).toBe(JobStatus.SUCCEEDED);
  expect(adapterOnSuccess).toBe(true);
  expect(storedOnSuccess).toBe(`adapter stored as resumed@${jobId} (base tiny@1, imported)`);

  const steps = (attempt: number) => events.filter((e) => e.metrics.attempt === attempt && e.loss > 0);
  const a1 = steps(1);
  const a2 = steps(2);
  const resumedMsg = events.find((e) => e.metrics.attempt === 2 && e.message.startsWith('resumed'));
  expect(resumedMsg?.message).toBe(`resumed from checkpoint at step ${checkpointed}`);
  // the curve continues from the checkpoint step, through to the end
  expect(a2.map((e) => e.step)).toEqual(Array.from({ length: 60 - checkpointed }, (_, i) => checkpointed + 1 + i));
  // steps run by both attempts saw the same weights, moments and batches: same losses
  const overlap = a2.filter((e) => a1.some((f) => f.step === e.step));
  expect(overlap.length).toBeGreaterThan(0);
  for (const e of overlap) expect(e.loss).toBeCloseTo(a1.find((f) => f.step === e.step)!.loss, 4);

  await until(async () => (await jobsInStream()) === 0, 5000, 'the ack after success');
  const rec = (await (await jobsKv(bus)).get(jobId))!.value;
  expect(rec.state).toBe('succeeded');
  expect(rec.attempts).toBe(2);
}, 90_000);
