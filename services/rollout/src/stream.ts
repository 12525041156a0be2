// The client side of a streaming Generate through the worker pool: subscribes to the stream's subject, enqueues
// one `rollout.stream` job, and yields token events as workers publish them (core NATS). A worker asks
// `<subject>.hello` before it starts (no responders = the caller is gone: it skips the job); the caller going
// away publishes `<subject>.cancel` and the worker stops at its next decoding step. If a worker dies mid-stream
// the job is redelivered and regenerated with the same seeds; tokens already yielded are skipped by step.
import { randomUUID } from 'node:crypto';
import { decodeJson, encodeJson, enqueue, type Bus } from '@tuneloop/bus';
import type { StreamEvent, StreamSpec } from './batch-job.ts';

export type TokenEvent = Extract<StreamEvent, { type: 'token' }>;

export interface StreamOptions {
  signal?: AbortSignal;
  idleTimeoutMs?: number; // no event for this long (queue wait included): fail; default 120 s
}

export class StreamError extends Error {
  override name = 'StreamError';
  /** 'worker': generation failed on the worker; 'unavailable': no event for idleTimeoutMs, or the model store was down; 'gap': events were lost */
  constructor(message: string, readonly kind: 'worker' | 'unavailable' | 'gap') {
    super(message);
  }
}

/** Yields each completion's tokens in order, exactly once; returns after every completion's last token. */
export async function* streamGenerate(bus: Bus, spec: Omit<StreamSpec, 'streamId' | 'subject'>, o: StreamOptions = {}): AsyncGenerator<TokenEvent, { worker?: string; batchSequences?: number }> {
  const streamId = randomUUID().replace(/-/g, '');
  const subject = `${bus.names.subjectPrefix}rollout.stream.${streamId}`;
  const nc = bus.nc;
  const queue: StreamEvent[] = [];
  let wake: (() => void) | undefined;
  const push = (e: StreamEvent) => {
    queue.push(e);
    wake?.();
  };
  const events = nc.subscribe(subject, { callback: (err, m) => (err ? push({ type: 'error', message: err.message, transport: true }) : push(decodeJson(m.data, subject) as StreamEvent)) });
  const hello = nc.subscribe(`${subject}.hello`, { callback: (_e, m) => void m.respond(encodeJson({ ok: true })) });
  const next = new Array<number>(spec.n).fill(0); // next step expected per completion
  let finished = 0;
  let tail: { worker?: string; batchSequences?: number } = {};
  const onAbort = () => wake?.();
  o.signal?.addEventListener('abort', onAbort);
  try {
    await nc.flush(); // subscriptions are live on the server before the job can start
    await enqueue(bus, 'jobs.rollout.generate', { jobId: `stream-${streamId}`, kind: 'rollout.generate', spec: { ...spec, streamId, subject } }, { msgId: `rollout-stream-${streamId}` });
    const idle = o.idleTimeoutMs ?? 120_000;
    while (finished < spec.n) {
      if (queue.length === 0) {
        const timedOut = await new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(true), idle);
          wake = () => {
            clearTimeout(t);
            resolve(false);
          };
        });
        wake = undefined;
        if (o.signal?.aborted) return tail;
        if (timedOut) throw new StreamError(`stream ${streamId}: no token for ${idle} ms`, 'unavailable');
        continue;
      }
      if (o.signal?.aborted) return tail;
      const e = queue.shift()!;
      if (e.type === 'error') throw new StreamError(e.message, e.transport ? 'gap' : e.unavailable ? 'unavailable' : 'worker');
      if (e.type === 'end') {
        tail = { worker: e.worker, batchSequences: e.batchSequences };
        continue;
      }
      if (e.index < 0 || e.index >= spec.n) continue;
      if (e.step < next[e.index]) continue; // replayed by a redelivered job
      if (e.step > next[e.index]) throw new StreamError(`stream ${streamId}: completion ${e.index} skipped from step ${next[e.index]} to ${e.step}`, 'gap');
      next[e.index]++;
      if (e.finishReason) finished++;
      yield e;
    }
    return tail;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    if (finished < spec.n && !nc.isClosed()) nc.publish(`${subject}.cancel`, encodeJson({ reason: 'caller went away' }));
    hello.unsubscribe();
    events.unsubscribe();
  }
}
