// Typed KV, CAS and job-state transitions against the real NATS server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { Bus } from './connect.ts';
import { createJob, jobsKv, JobStateError, roundsKv, transitionJob } from './job-state.ts';
import { KvConflictError, typedKv, type KvChange } from './kv.ts';
import { deprovision, provision } from './provision.ts';
import { decodeJson } from './publish.ts';
import { testBus, testPrefix } from './test-util.ts';

describe('typed KV', () => {
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

  const Counter = z.object({ n: z.number().int() });

  it('get/put/create/update with revisions; CAS conflicts are KvConflictError', async () => {
    const kv = await typedKv(bus, bus.names.kv.rounds, Counter);
    expect(await kv.get('c1')).toBeNull();
    const r1 = await kv.create('c1', { n: 1 });
    await expect(kv.create('c1', { n: 9 })).rejects.toBeInstanceOf(KvConflictError);
    const r2 = await kv.update('c1', { n: 2 }, r1);
    await expect(kv.update('c1', { n: 3 }, r1)).rejects.toThrow(/revision \d+ is no longer current/);
    expect(await kv.get('c1')).toMatchObject({ value: { n: 2 }, revision: r2 });
    await expect(kv.put('c1', { n: 1.5 })).rejects.toThrow(/c1: invalid value: n: Expected integer/);
    await expect(kv.put('bad key', { n: 1 })).rejects.toThrow(/key: must match/);
    await kv.delete('c1');
    expect(await kv.get('c1')).toBeNull();
  });

  it('modify() applies concurrent read-modify-writes without losing one', async () => {
    const kv = await typedKv(bus, bus.names.kv.rounds, Counter);
    await kv.put('c2', { n: 0 });
    await Promise.all(Array.from({ length: 8 }, () => kv.modify('c2', (c) => ({ n: (c?.n ?? 0) + 1 }), { retries: 50 })));
    expect((await kv.get('c2'))!.value.n).toBe(8);
  });

  it('watch() yields the current value, then live puts and deletes', async () => {
    const kv = await typedKv(bus, bus.names.kv.rounds, Counter);
    await kv.put('w1', { n: 1 });
    const ac = new AbortController();
    const seen: KvChange<{ n: number }>[] = [];
    const done = (async () => {
      for await (const c of kv.watch({ key: 'w1', signal: ac.signal })) {
        seen.push(c);
        if (seen.length === 3) ac.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    await kv.put('w1', { n: 2 });
    await kv.delete('w1');
    await done;
    expect(seen.map((c) => (c.op === 'put' ? c.value.n : 'del'))).toEqual([1, 2, 'del']);
  });

  it('job records move through the state machine by CAS and announce events.job.updated', async () => {
    await createJob(bus, { jobId: 'job-1', kind: 'train.sft', spec: { epochs: 1 } });
    await expect(createJob(bus, { jobId: 'job-1', kind: 'train.sft', spec: {} })).rejects.toBeInstanceOf(KvConflictError);
    await transitionJob(bus, 'job-1', 'running');
    const done = await transitionJob(bus, 'job-1', 'succeeded', { result: { adapterId: 'a1' } });
    expect(done.value).toMatchObject({ state: 'succeeded', attempts: 1, result: { adapterId: 'a1' } });
    await expect(transitionJob(bus, 'job-1', 'running')).rejects.toBeInstanceOf(JobStateError);
    await expect(transitionJob(bus, 'nope', 'running')).rejects.toThrow(/job nope: not found/);
    expect((await (await jobsKv(bus)).get('job-1'))!.value.state).toBe('succeeded');

    const c = await bus.js.consumers.get(bus.names.streams.events, { filter_subjects: `${bus.names.subjectPrefix}events.job.updated`, deliver_policy: DeliverPolicy.All });
    const states: string[] = [];
    for (let i = 0; i < 2; i++) states.push((decodeJson((await c.next({ expires: 2000 }))!.data, 'x') as { state: string }).state);
    await c.delete();
    expect(states).toEqual(['running', 'succeeded']);
  });

  it('round records keep fields beyond the schema', async () => {
    const kv = await roundsKv(bus);
    const now = new Date().toISOString();
    await kv.put('r1', { roundId: 'r1', projectId: 'p', state: 'collecting', createdAt: now, updatedAt: now, quota: 100 });
    expect((await kv.get('r1'))!.value).toMatchObject({ quota: 100, state: 'collecting' });
  });
});
