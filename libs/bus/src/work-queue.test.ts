// Work-queue semantics against the real NATS server: crash redelivery (child process SIGKILL), exactly-once
// acks with two workers, dead letters after max deliveries, working() heartbeats, graceful stop().
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from './connect.ts';
import { listDeadLetters } from './dead-letter.ts';
import { RetryableError } from './errors.ts';
import { deprovision, provision } from './provision.ts';
import { enqueue, publishRaw } from './publish.ts';
import { wireSubject } from './names.ts';
import { NATS_URL, testBus, testPrefix } from './test-util.ts';
import { workQueue, type JobContext } from './work-queue.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const job = (jobId: string, kind = 'train.sft') => ({ jobId, kind, spec: { lr: 1e-4 } });

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

describe('workQueue', () => {
  const prefix = testPrefix();
  let bus: Bus;
  const jobsLeft = async () => (await bus.jsm.streams.info(bus.names.streams.jobs)).state.messages;
  beforeAll(async () => {
    bus = await testBus(prefix);
    await provision(bus, { storage: 'memory' });
  });
  afterAll(async () => {
    await deprovision(bus);
    await bus.close();
  });

  it('redelivers the job of a worker process killed before ack, to a fresh worker that acks it', async () => {
    await enqueue(bus, 'jobs.train.sft', job('crash-1'), { msgId: 'crash-1' });
    const script = fileURLToPath(new URL('../test/crash-worker.ts', import.meta.url));
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: root, env: { ...process.env, NATS_URL, BUS_PREFIX: prefix, BUS_DURABLE: 'crash' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exit = await new Promise<{ code: number | null; signal: string | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    expect(exit.signal, out).toBe('SIGKILL');
    expect(out).toContain('GOT crash-1 1');

    const seen: { id: string; n: number }[] = [];
    const q = await workQueue(bus, {
      durable: 'crash', filterSubject: 'jobs.train.sft', maxDeliver: 5, ackWaitMs: 1000, concurrency: 1,
      handler: async (p, ctx) => { seen.push({ id: p.jobId, n: ctx.deliveryCount }); },
    });
    await until(() => seen.length > 0, 5000, 'redelivery');
    await until(async () => (await jobsLeft()) === 0, 3000, 'ack to remove the job');
    await sleep(1300);
    await q.stop();
    await bus.jsm.consumers.delete(bus.names.streams.jobs, 'crash');
    expect(seen).toEqual([{ id: 'crash-1', n: 2 }]);
  });

  it('delivers each acked job exactly once across two concurrent workers', async () => {
    const N = 24;
    const counts = new Map<string, number>();
    const handler = async (p: { jobId: string }) => {
      await sleep(10 + Math.floor(Math.random() * 30));
      counts.set(p.jobId, (counts.get(p.jobId) ?? 0) + 1);
    };
    const opts = { durable: 'once', filterSubject: 'jobs.train.reward' as const, maxDeliver: 3, ackWaitMs: 1000, concurrency: 3, handler };
    const [a, b] = await Promise.all([workQueue(bus, opts), workQueue(bus, opts)]);
    for (let i = 0; i < N; i++) await enqueue(bus, 'jobs.train.reward', job(`once-${i}`, 'train.reward'), { msgId: `once-${i}` });
    await until(() => counts.size === N, 10_000, 'all jobs');
    await sleep(1500); // past ackWait: nothing may come back
    await Promise.all([a.stop(), b.stop()]);
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
    expect(counts.size).toBe(N);
    expect(await jobsLeft()).toBe(0);
  });

  it('dead-letters a non-retryable failure at once, with payload, error and delivery count', async () => {
    const q = await workQueue(bus, {
      durable: 'poison1', filterSubject: 'jobs.rollout.generate', maxDeliver: 5, ackWaitMs: 1000, concurrency: 1,
      handler: async () => { throw new Error('spec.model: not found'); },
    });
    await enqueue(bus, 'jobs.rollout.generate', job('poison-a', 'rollout.generate'), { msgId: 'poison-a' });
    await until(async () => (await listDeadLetters(bus, 'jobs.rollout.generate')).length === 1, 5000, 'dead letter');
    await q.stop();
    const [d] = await listDeadLetters(bus, 'jobs.rollout.generate');
    expect(d).toMatchObject({
      subject: 'jobs.rollout.generate', deliveryCount: 1, reason: 'handler-error', msgId: 'poison-a',
      payload: job('poison-a', 'rollout.generate'), error: { name: 'Error', message: 'spec.model: not found', retryable: false },
    });
  });

  it('retries a retryable failure with delay, then dead-letters it after maxDeliver deliveries', async () => {
    const attempts: number[] = [];
    const q = await workQueue(bus, {
      durable: 'poison3', filterSubject: 'jobs.optimize.rl', maxDeliver: 3, ackWaitMs: 1000, concurrency: 1, backoffMs: [100, 200],
      handler: async (_p, ctx) => { attempts.push(ctx.deliveryCount); throw new RetryableError('reward model unavailable'); },
    });
    await enqueue(bus, 'jobs.optimize.rl', job('poison-b', 'optimize.rl'), { msgId: 'poison-b' });
    await until(async () => (await listDeadLetters(bus, 'jobs.optimize.rl')).length === 1, 8000, 'dead letter');
    await sleep(300);
    await q.stop();
    expect(attempts).toEqual([1, 2, 3]);
    const [d] = await listDeadLetters(bus, 'jobs.optimize.rl');
    expect(d).toMatchObject({ deliveryCount: 3, reason: 'handler-error', error: { name: 'RetryableError', retryable: true } });
    expect(await jobsLeft()).toBe(0);
  });

  it('dead-letters a job never acked within maxDeliver deliveries (MAX_DELIVERIES advisory)', async () => {
    let release!: () => void;
    const hang = new Promise<void>((r) => (release = r));
    const deliveries: number[] = [];
    const q = await workQueue(bus, {
      durable: 'hung', filterSubject: 'jobs.optimize.preference', maxDeliver: 2, ackWaitMs: 500, concurrency: 3,
      workingIntervalMs: 0, handler: async (_p, ctx) => { deliveries.push(ctx.deliveryCount); await hang; },
    });
    await enqueue(bus, 'jobs.optimize.preference', job('hung-1', 'optimize.preference'), { msgId: 'hung-1' });
    await until(async () => (await listDeadLetters(bus, 'jobs.optimize.preference')).length === 1, 8000, 'dead letter');
    release();
    await q.stop();
    expect(deliveries).toEqual([1, 2]);
    const [d] = await listDeadLetters(bus, 'jobs.optimize.preference');
    expect(d).toMatchObject({ reason: 'max-deliveries', deliveryCount: 2, payload: job('hung-1', 'optimize.preference') });
    expect(await jobsLeft()).toBe(0);
  });

  it('dead-letters a payload that does not match the subject schema', async () => {
    const handled: string[] = [];
    const q = await workQueue(bus, {
      durable: 'badpayload', filterSubject: 'jobs.train.sft', maxDeliver: 3, ackWaitMs: 1000, concurrency: 1,
      handler: async (p) => { handled.push(p.jobId); },
    });
    await publishRaw(bus, wireSubject(bus.names, 'jobs.train.sft'), { nope: true }, { msgId: 'bad-1' });
    await until(async () => (await listDeadLetters(bus, 'jobs.train.sft')).length === 1, 5000, 'dead letter');
    await q.stop();
    const [d] = await listDeadLetters(bus, 'jobs.train.sft');
    expect(d).toMatchObject({ reason: 'bad-payload', payload: { nope: true }, deliveryCount: 1 });
    expect(d!.error.message).toMatch(/jobId: Required/);
    expect(handled).toEqual([]);
  });
});

describe('workQueue heartbeats and stop', () => {
  const prefix = testPrefix();
  let bus: Bus;
  beforeAll(async () => {
    bus = await testBus(prefix);
    await provision(bus, { storage: 'memory' });
  });
  afterAll(async () => {
    await deprovision(bus);
    await bus.close();
  });

  it('working() keeps a job running 3x past ackWait from being redelivered', async () => {
    const deliveries: number[] = [];
    const q = await workQueue(bus, {
      durable: 'long', filterSubject: 'jobs.train.sft', maxDeliver: 5, ackWaitMs: 700, concurrency: 2,
      handler: async (_p, ctx) => { deliveries.push(ctx.deliveryCount); await sleep(2100); },
    });
    await enqueue(bus, 'jobs.train.sft', job('long-1'), { msgId: 'long-1' });
    await until(() => deliveries.length === 1, 3000, 'delivery');
    await sleep(2100 + 900);
    await q.stop();
    expect(deliveries).toEqual([1]);
    expect((await bus.jsm.streams.info(bus.names.streams.jobs)).state.messages).toBe(0);
  });

  it('stop() aborts the signal, waits for the in-flight handler and acks its result', async () => {
    let ctxSeen: JobContext | undefined;
    let finishedAt = 0;
    const q = await workQueue(bus, {
      durable: 'graceful', filterSubject: 'jobs.train.reward', maxDeliver: 5, ackWaitMs: 1000, concurrency: 1,
      handler: async (_p, ctx) => { ctxSeen = ctx; await sleep(1200); finishedAt = Date.now(); },
    });
    await enqueue(bus, 'jobs.train.reward', job('grace-1', 'train.reward'), { msgId: 'grace-1' });
    await until(() => ctxSeen !== undefined, 3000, 'delivery');
    await q.stop();
    const stoppedAt = Date.now();
    expect(ctxSeen!.signal.aborted).toBe(true);
    expect(finishedAt).toBeGreaterThan(0);
    expect(stoppedAt).toBeGreaterThanOrEqual(finishedAt);
    expect(q.inFlight()).toBe(0);
    expect((await bus.jsm.streams.info(bus.names.streams.jobs)).state.messages).toBe(0);
  });

  it('stop() hands back a handler that gives up on abort; the next worker gets it', async () => {
    let started = false;
    const q = await workQueue(bus, {
      durable: 'handback', filterSubject: 'jobs.rollout.generate', maxDeliver: 5, ackWaitMs: 1000, concurrency: 1,
      handler: (_p, ctx) => new Promise((_res, rej) => {
        started = true;
        ctx.signal.addEventListener('abort', () => rej(ctx.signal.reason));
      }),
    });
    await enqueue(bus, 'jobs.rollout.generate', job('hb-1', 'rollout.generate'), { msgId: 'hb-1' });
    await until(() => started, 3000, 'delivery');
    const t0 = Date.now();
    await q.stop();
    expect(Date.now() - t0).toBeLessThan(500);
    const seen: number[] = [];
    const q2 = await workQueue(bus, {
      durable: 'handback', filterSubject: 'jobs.rollout.generate', maxDeliver: 5, ackWaitMs: 1000, concurrency: 1,
      handler: async (_p, ctx) => { seen.push(ctx.deliveryCount); },
    });
    await until(() => seen.length === 1, 3000, 'handed-back job');
    await q2.stop();
    expect(seen).toEqual([2]);
    expect(await listDeadLetters(bus)).toEqual([]);
  });

  it('rejects bad options naming the field', async () => {
    const base = { durable: 'x', filterSubject: 'jobs.train.sft' as const, maxDeliver: 1, ackWaitMs: 1000, concurrency: 1, handler: async () => undefined };
    await expect(workQueue(bus, { ...base, concurrency: 0 })).rejects.toThrow('concurrency: must be an integer >= 1, got 0');
    await expect(workQueue(bus, { ...base, durable: 'a.b' })).rejects.toThrow(/durable: must match/);
  });
});
