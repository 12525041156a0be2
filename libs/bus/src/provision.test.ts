// Tests for provision() idempotency and dedup publish against the real local NATS server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RetentionPolicy } from '@nats-io/jetstream';
import type { Bus } from './connect.ts';
import { deprovision, provision } from './provision.ts';
import { publish } from './publish.ts';
import { testBus, testPrefix } from './test-util.ts';

describe('provision + publish', () => {
  const prefix = testPrefix();
  let bus: Bus;
  beforeAll(async () => {
    bus = await testBus(prefix);
  });
  afterAll(async () => {
    await deprovision(bus);
    await bus.close();
  });

  it('is idempotent: twice (and concurrently) yields the same streams, buckets and store', async () => {
    const names = await provision(bus);
    await Promise.all([provision(bus), provision(bus)]);
    expect(names.streams.jobs).toBe(`${prefix}JOBS`);
    const jobs = await bus.jsm.streams.info(names.streams.jobs);
    expect(jobs.config.retention).toBe(RetentionPolicy.Workqueue);
    expect(jobs.config.subjects).toEqual([`${prefix.slice(0, -1)}.jobs.>`]);
    const events = await bus.jsm.streams.info(names.streams.events);
    expect(events.config.duplicate_window).toBe(120_000_000_000);
    const progress = await bus.jsm.streams.info(names.streams.progress);
    expect(progress.config.max_age).toBe(86_400_000_000_000);
    for (const s of [names.streams.dead, `KV_${names.kv.jobs}`, `KV_${names.kv.rounds}`, `OBJ_${names.objects.blobs}`]) {
      expect((await bus.jsm.streams.info(s)).config.name).toBe(s);
    }
  });

  it('survives concurrent first-time provisioning (services starting together)', async () => {
    const other = testPrefix();
    try {
      await Promise.all([provision(bus, { prefix: other }), provision(bus, { prefix: other }), provision(bus, { prefix: other })]);
      expect((await bus.jsm.streams.info(`KV_${other}jobs`)).config.name).toBe(`KV_${other}jobs`);
    } finally {
      await deprovision(bus, { prefix: other });
    }
  });

  it('updates a changed updatable field in place', async () => {
    await provision(bus, { progressMaxAgeMs: 3_600_000 });
    expect((await bus.jsm.streams.info(bus.names.streams.progress)).config.max_age).toBe(3_600_000_000_000);
    await provision(bus);
    expect((await bus.jsm.streams.info(bus.names.streams.progress)).config.max_age).toBe(86_400_000_000_000);
  });

  it('stores one message for two publishes with the same msgId', async () => {
    const p = {
      pairId: 'p1', projectId: 'proj', prompt: 'q', chosen: 'a', rejected: 'b', annotatorId: 'ann',
      createdAt: new Date().toISOString(),
    };
    const a = await publish(bus, 'events.preference.created', p, { msgId: 'pref-p1' });
    const b = await publish(bus, 'events.preference.created', p, { msgId: 'pref-p1' });
    expect(a.duplicate).toBe(false);
    expect(b.duplicate).toBe(true);
    expect(b.seq).toBe(a.seq);
    const info = await bus.jsm.streams.info(bus.names.streams.events);
    expect(info.state.messages).toBe(1);
  });

  it('rejects a payload that does not match its subject, naming the field', async () => {
    await expect(publish(bus, 'events.preference.created', { pairId: 'x' } as never, { msgId: 'm' }))
      .rejects.toThrow(/events\.preference\.created: projectId: Required/);
    await expect(publish(bus, 'jobs.train.sft', { jobId: 'j', kind: 'train.reward', spec: {} }, { msgId: 'm2' }))
      .rejects.toThrow(/kind: must be 'train.sft'/);
  });
});
