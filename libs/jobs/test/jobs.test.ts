// libs/jobs against the real NATS server (isolated names) with a toy job thread (no tfjs): the handlers record
// and queue only valid requests; the worker relays progress, calls `finish` before marking success and acking;
// a SIGKILLed worker process's job is redelivered and resumes from its checkpoint with the same per-step values;
// cancel stops the thread; a TrainingDivergedError fails the job with "step N: reason" and keeps the last good
// checkpoint; an INVALID_ARGUMENT error in the thread fails it; a retryable `finish` error hands the job back
// and the next attempt stores without training again (done-file).
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectBus, deprovision, jobsKv, provision, RetryableError, type Bus, type WorkQueue } from '@tuneloop/bus';
import { JobSpec, JobStatus, type JobEvent } from '@tuneloop/proto';
import { createLogger, killAfterCheckpoint, spawnUntilReady } from '@tuneloop/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointDir, jobRpcHandlers, lastProgress, readCheckpoint, startJobWorker, type JobWorkerOptions } from '../src/index.ts';
import { update, type ToySpec } from './toy-thread.ts';

const NATS = process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222';
const prefix = `t${randomUUID().slice(0, 8)}`;
const root = fileURLToPath(new URL('../../../', import.meta.url));
const logger = createLogger({ name: 'jobs-test', level: 'silent' });
let bus: Bus;
let home: string;
const children: ChildProcess[] = [];

interface ToyRequest {
  spec?: JobSpec;
  idempotencyKey: string;
  toy: ToySpec;
}

let api: ReturnType<typeof jobRpcHandlers<ToyRequest>>;

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'tuneloop-jobs-'));
  bus = await connectBus({ url: NATS, name: 'jobs-test', prefix });
  await provision(bus, { prefix, storage: 'memory' });
  api = jobRpcHandlers<ToyRequest>(bus, {
    kind: 'train.sft',
    idPrefix: 'toy',
    subject: 'jobs.train.sft',
    async validate(req) {
      if (!(req.toy.steps >= 1)) throw Object.assign(new Error('toy.steps: must be >= 1'), { code: 3 });
      return { resolved: req.toy as unknown as Record<string, unknown>, totalSteps: req.toy.steps };
    },
  });
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await deprovision(bus).catch(() => undefined);
  await bus?.close();
  await rm(home, { recursive: true, force: true });
});

const jobsInStream = async () => (await bus.jsm.streams.info(bus.names.streams.jobs)).state.messages;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function request(toy: Partial<ToySpec>, key = ''): ToyRequest {
  return { spec: JobSpec.fromPartial({ outputName: 'toy' }), idempotencyKey: key, toy: { steps: 12, checkpointEvery: 5, stepMs: 20, ...toy } };
}

async function watch(jobId: string, onEvent: (e: JobEvent) => void | Promise<void> = () => {}): Promise<JobEvent[]> {
  const events: JobEvent[] = [];
  const ac = new AbortController();
  for await (const { event } of api.watch({ jobId }, { signal: ac.signal })) {
    events.push(event);
    await onEvent(event);
  }
  return events;
}

function worker(over: Partial<JobWorkerOptions<ToySpec>> = {}): Promise<WorkQueue> {
  return startJobWorker<ToySpec>(bus, {
    kind: 'train.sft', subject: 'jobs.train.sft', durable: 'toy-worker', home, logger, ackWaitMs: 2000, retryMs: [300],
    threadModule: new URL('./toy-thread.ts', import.meta.url),
    finish: async (done) => ({ result: { output: { name: 'toy', version: 'v' }, ...done.result }, message: `toy stored w=${(done.result as { w: number }).w.toFixed(4)}` }),
    ...over,
  });
}

describe('jobs: handlers and the in-process worker', () => {
  let queue: WorkQueue | undefined;
  afterAll(() => queue?.stop({ timeoutMs: 2000 }));

  it('refuses an invalid request before recording or queueing it; the same idempotency key gives the same job', async () => {
    await expect(api.start(request({ steps: 0 }))).rejects.toThrow('toy.steps: must be >= 1');
    expect(await jobsInStream()).toBe(0);
    expect(await (await jobsKv(bus)).keys()).toEqual([]);
    const a = await api.start(request({ steps: 3 }, 'same-key'));
    const b = await api.start(request({ steps: 3 }, 'same-key'));
    expect(b.job.jobId).toBe(a.job.jobId);
    expect(a.job.status).toBe(JobStatus.QUEUED);
    expect(await jobsInStream()).toBe(1);
    expect((await api.list({ pageSize: 0, pageToken: '', status: JobStatus.QUEUED })).jobs.map((j) => j.jobId)).toEqual([a.job.jobId]);
    await api.cancel({ jobId: a.job.jobId });
    await expect(api.cancel({ jobId: a.job.jobId })).rejects.toThrow(/already cancelled, cannot cancel/);
    await expect(api.get({ jobId: 'toy-nope' })).rejects.toThrow(/not found/);
  });

  it('runs a job: progress relayed with TRL metric names, finish stores before success, then the ack', async () => {
    let stateAtFinish = '';
    queue = await worker({
      finish: async (done, ctx) => {
        stateAtFinish = (await (await jobsKv(bus)).get(ctx.jobId))!.value.state;
        return { result: { output: { name: 'toy', version: ctx.jobId }, ...done.result }, message: 'toy stored' };
      },
    });
    await until(async () => (await jobsInStream()) === 0, 10_000, 'the cancelled job to be dropped');
    const { job } = await api.start(request({ steps: 12 }));
    const events = await watch(job.jobId);
    const last = events.at(-1)!;
    expect(last.status, last.message).toBe(JobStatus.SUCCEEDED);
    expect(last.message).toBe('toy stored');
    expect(stateAtFinish).toBe('running');
    const steps = events.filter((e) => e.step > 0 && e.loss > 0);
    expect(steps.map((e) => e.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    let w = 1;
    for (const e of steps) {
      w = update(w, e.step);
      expect(e.loss).toBeCloseTo(w, 6);
      expect(e.metrics['rewards/accuracies']).toBe(0.5);
      expect(e.metrics.grad_norm).toBeUndefined(); // non-finite dropped
      expect(e.learningRate).toBe(0.1);
      expect(e.metrics.eta_seconds).toBeGreaterThanOrEqual(0);
    }
    expect(events.filter((e) => /^checkpoint at step/.test(e.message)).map((e) => e.message)).toEqual(['checkpoint at step 5', 'checkpoint at step 10']);
    const done = (await api.get({ jobId: job.jobId })).job;
    expect(done.status).toBe(JobStatus.SUCCEEDED);
    expect(done.output).toEqual({ name: 'toy', version: job.jobId });
    expect([done.lastEvent?.step, done.lastEvent?.totalSteps]).toEqual([12, 12]);
    await until(async () => (await jobsInStream()) === 0, 5000, 'the ack');
  });

  it('cancel stops the thread; the watch ends CANCELLED and the message is acked', async () => {
    const { job } = await api.start(request({ steps: 500, stepMs: 30 }));
    let cancelled = false;
    let stepAtCancel = -1;
    const events = await watch(job.jobId, async (e) => {
      if (!cancelled && e.step >= 3) {
        cancelled = true;
        // a running job's progress: its newest step event (get and list alike)
        const running = (await api.get({ jobId: job.jobId })).job;
        expect(running.lastEvent?.step).toBeGreaterThanOrEqual(e.step);
        expect(running.lastEvent?.totalSteps).toBe(500);
        expect(running.lastEvent?.loss).toBeGreaterThan(0);
        const listed = (await api.list({ pageSize: 0, pageToken: '', status: JobStatus.RUNNING })).jobs.find((j) => j.jobId === job.jobId);
        expect(listed?.lastEvent?.step).toBeGreaterThanOrEqual(e.step);
        stepAtCancel = (await api.cancel({ jobId: job.jobId })).job.lastEvent!.step;
        expect(stepAtCancel).toBeGreaterThanOrEqual(running.lastEvent!.step);
      }
    });
    expect(events.at(-1)!.status).toBe(JobStatus.CANCELLED);
    // the step it got to stays on the record and is in the final event
    expect(events.at(-1)!.step).toBe(stepAtCancel);
    const after = (await api.get({ jobId: job.jobId })).job;
    expect([after.status, after.lastEvent?.step, after.lastEvent?.totalSteps]).toEqual([JobStatus.CANCELLED, stepAtCancel, 500]);
    await until(async () => (await jobsInStream()) === 0, 10_000, 'the cancelled job to be acked');
    expect(existsSync(path.join(home, 'out', job.jobId))).toBe(false);
  });

  it('a TrainingDivergedError fails the job with the step and the reason, keeping the last good checkpoint', async () => {
    const { job } = await api.start(request({ steps: 12, divergeAt: 8, checkpointEvery: 5 }));
    const events = await watch(job.jobId);
    const last = events.at(-1)!;
    expect(last.status).toBe(JobStatus.FAILED);
    expect(last.message).toBe('step 8: loss is NaN');
    expect((await api.get({ jobId: job.jobId })).job.error).toBe('step 8: loss is NaN');
    expect(Math.max(...events.map((e) => e.step))).toBe(7);
    expect((await api.get({ jobId: job.jobId })).job.lastEvent).toMatchObject({ step: 7, totalSteps: 12 }); // kept on the failed record
    const ck = await readCheckpoint(checkpointDir(home, job.jobId));
    expect(ck?.state.step).toBe(5);
    await until(async () => (await jobsInStream()) === 0, 5000, 'the failed job to be acked');
  });

  it('an INVALID_ARGUMENT error in the thread fails the job without retry', async () => {
    const { job } = await api.start(request({ invalid: true }));
    const events = await watch(job.jobId);
    expect(events.at(-1)!.status).toBe(JobStatus.FAILED);
    expect(events.at(-1)!.message).toMatch(/spec\.steps: the toy refuses this input/);
    const rec = (await (await jobsKv(bus)).get(job.jobId))!.value;
    expect(rec.attempts).toBe(1);
  });

  it('a retryable finish error hands the job back; the next attempt stores it without training again', async () => {
    await queue!.stop({ timeoutMs: 2000 });
    let calls = 0;
    queue = await worker({
      finish: async (done, ctx) => {
        calls += 1;
        if (calls === 1) throw new RetryableError('model store: UNAVAILABLE: down for the test');
        return { result: { output: { name: 'toy', version: ctx.jobId } }, message: `stored on attempt ${ctx.attempt}` };
      },
    });
    const { job } = await api.start(request({ steps: 6 }));
    const events = await watch(job.jobId);
    const last = events.at(-1)!;
    expect(last.status, last.message).toBe(JobStatus.SUCCEEDED);
    expect(last.message).toBe('stored on attempt 2');
    expect(events.some((e) => e.message === 'model store: UNAVAILABLE: down for the test; retrying (attempt 1 of 5)')).toBe(true);
    expect(events.some((e) => e.metrics.attempt === 2 && e.message === 'training finished in an earlier attempt; storing the result')).toBe(true);
    expect(events.filter((e) => e.metrics.attempt === 2 && e.loss > 0)).toEqual([]);
    await until(async () => (await jobsInStream()) === 0, 5000, 'the ack');
    await queue!.stop({ timeoutMs: 2000 });
    queue = undefined;
  }, 30_000);
});

function startWorkerProcess(): Promise<ChildProcess> {
  return spawnUntilReady(path.join(root, 'libs/jobs/test/worker-process.ts'), {
    cwd: root,
    env: { TUNELOOP_HOME: home, TUNELOOP_NATS_URL: NATS, TUNELOOP_NATS_PREFIX: prefix, TUNELOOP_LOG_LEVEL: 'silent' },
    children,
  });
}

describe('jobs: a SIGKILLed worker process', () => {
  it('is redelivered to a restarted worker that resumes from the checkpoint with the same per-step values', async () => {
    const first = await startWorkerProcess();
    const { job } = await api.start(request({ steps: 30, checkpointEvery: 5, stepMs: 60 }));
    const kill = killAfterCheckpoint<JobEvent>(
      first,
      (e) => e.loss > 0,
      async () => {
        expect(await jobsInStream()).toBe(1); // un-acked
        expect((await (await jobsKv(bus)).get(job.jobId))?.value.state).toBe('running');
      },
      startWorkerProcess,
      async () => (await readCheckpoint(checkpointDir(home, job.jobId)))!.state.step,
    );
    const events = await watch(job.jobId, kill.onEvent);
    const { killedAt, checkpointed } = kill;
    expect(killedAt).toBeGreaterThan(0);
    const last = events.at(-1)!;
    expect(last.status, last.message).toBe(JobStatus.SUCCEEDED);
    const a1 = events.filter((e) => e.metrics.attempt === 1 && e.loss > 0);
    const a2 = events.filter((e) => e.metrics.attempt === 2 && e.loss > 0);
    expect(events.find((e) => e.metrics.attempt === 2 && e.message.startsWith('resumed'))?.message).toBe(`resumed from checkpoint at step ${checkpointed}`);
    expect(a2.map((e) => e.step)).toEqual(Array.from({ length: 30 - checkpointed }, (_, i) => checkpointed + 1 + i));
    const overlap = a2.filter((e) => a1.some((f) => f.step === e.step));
    expect(overlap.length).toBeGreaterThan(0);
    for (const e of overlap) expect(e.loss).toBeCloseTo(a1.find((f) => f.step === e.step)!.loss, 6);
    await until(async () => (await jobsInStream()) === 0, 5000, 'the ack after success');
    expect((await (await jobsKv(bus)).get(job.jobId))!.value.attempts).toBe(2);
  }, 60_000);
});

describe('jobs: progress on Get / List', () => {
  it("a running job's lastEvent is its newest step event, even when log events (and other jobs' events) came after it", async () => {
    const { createJob, publishProgress, transitionJob } = await import('@tuneloop/bus');
    const stored = { request: {}, resolved: {}, totalSteps: 40 };
    await createJob(bus, { jobId: 'toy-progress', kind: 'train.sft', spec: stored });
    await transitionJob(bus, 'toy-progress', 'running');
    expect((await api.get({ jobId: 'toy-progress' })).job.lastEvent).toMatchObject({ step: 0, totalSteps: 40 }); // no event yet
    const at = new Date().toISOString();
    let seq = 0;
    const send = (jobId: string, e: { kind: 'progress' | 'log' | 'state'; step?: number; message?: string; metrics?: Record<string, number>; state?: 'running' }) =>
      publishProgress(bus, { jobId, seq: seq++, at, total: e.step === undefined ? undefined : 40, ...e });
    await send('toy-progress', { kind: 'state', state: 'running', message: 'attempt 1' });
    for (let step = 1; step <= 10; step++) {
      await send('toy-progress', { kind: 'progress', step, metrics: { loss: 1 / step } });
      await send('toy-other', { kind: 'progress', step: 100 + step });
    }
    expect((await api.get({ jobId: 'toy-progress' })).job.lastEvent).toMatchObject({ step: 10, totalSteps: 40, loss: 0.1 });
    // a log after the last step, then 100 events of another job: found by reading back in windows
    await send('toy-progress', { kind: 'log', message: 'checkpoint at step 10' });
    for (let i = 0; i < 100; i++) await send('toy-other', { kind: 'log', message: `other ${i}` });
    await send('toy-progress', { kind: 'log', message: 'eval done' });
    expect((await lastProgress(bus, 'toy-progress'))?.message).toBe('eval done');
    expect((await lastProgress(bus, 'toy-progress', { withStep: true }))?.step).toBe(10);
    const listed = (await api.list({ pageSize: 0, pageToken: '', status: JobStatus.RUNNING })).jobs.find((j) => j.jobId === 'toy-progress');
    expect(listed?.lastEvent).toMatchObject({ step: 10, totalSteps: 40, loss: 0.1 });
    // cancel keeps the step reached on the record and puts it in the final event
    expect((await api.cancel({ jobId: 'toy-progress' })).job.lastEvent).toMatchObject({ step: 10, totalSteps: 40 });
    const final = await lastProgress(bus, 'toy-progress');
    expect(final).toMatchObject({ state: 'cancelled', final: true, step: 10, total: 40 });
    expect(await lastProgress(bus, 'toy-none', { withStep: true })).toBeUndefined();
  });
});
