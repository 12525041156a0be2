// watchProgress replays stored history and follows live events (ordered consumer) on the real NATS server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from './connect.ts';
import { progressReporter, publishProgress, watchProgress, type ProgressEvent } from './progress.ts';
import { deprovision, provision } from './provision.ts';
import { testBus, testPrefix } from './test-util.ts';

describe('progress', () => {
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

  it('replays history from the start, then live events, and ends at the final event', async () => {
    const rep = progressReporter(bus, 'job-p1');
    await rep.state('running');
    await rep.progress(1, 4, { loss: 2.5 });
    await progressReporter(bus, 'job-other').progress(9, 9);
    const seen: ProgressEvent[] = [];
    const watching = (async () => {
      for await (const e of watchProgress(bus, 'job-p1')) seen.push(e);
    })();
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.map((e) => e.seq)).toEqual([0, 1]);
    await rep.progress(2, 4, { loss: 2.1 });
    await rep.log('checkpoint saved');
    await rep.state('succeeded', true);
    await watching;
    expect(seen.map((e) => [e.kind, e.step ?? e.state ?? e.message])).toEqual([
      ['state', 'running'], ['progress', 1], ['progress', 2], ['log', 'checkpoint saved'], ['state', 'succeeded'],
    ]);
    expect(seen.every((e) => e.jobId === 'job-p1')).toBe(true);
    expect(seen[1]!.metrics).toEqual({ loss: 2.5 });
  });

  it('a second watcher gets the same full history; abort ends a watch with no final event', async () => {
    const all: number[] = [];
    for await (const e of watchProgress(bus, 'job-p1')) all.push(e.seq);
    expect(all).toEqual([0, 1, 2, 3, 4]);
    const ac = new AbortController();
    const got: number[] = [];
    setTimeout(() => ac.abort(), 300);
    for await (const e of watchProgress(bus, 'job-other', { signal: ac.signal })) got.push(e.step!);
    expect(got).toEqual([9]);
  });

  it('dedups a re-sent event and rejects a bad jobId', async () => {
    const e = { jobId: 'job-d', seq: 0, kind: 'log' as const, message: 'x', at: new Date().toISOString() };
    expect((await publishProgress(bus, e)).duplicate).toBe(false);
    expect((await publishProgress(bus, e)).duplicate).toBe(true);
    await expect(publishProgress(bus, { ...e, jobId: 'a.b' })).rejects.toThrow(/jobId: must match/);
  });
});
