// Work queue over a JetStream durable pull consumer (explicit ack): ack only after the handler resolved,
// working() heartbeats, nak with delay on retryable errors, dead letter + term on failure or last delivery.
import { nanos } from '@nats-io/nats-core';
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { Consumer, ConsumerConfig, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Bus } from './connect.ts';
import { rawPayload, publishDeadLetter, watchMaxDeliveries, type DeadLetter } from './dead-letter.ts';
import { errorSummary, isRetryable } from './errors.ts';
import { logicalSubject, wireSubject } from './names.ts';
import { decodeJson } from './publish.ts';
import { parsePayload, type JobSubject, type Payload } from './subjects.ts';

export interface JobContext {
  /** logical subject, e.g. 'jobs.train.sft' */
  readonly subject: JobSubject;
  readonly msgId?: string;
  /** 1 on the first delivery */
  readonly deliveryCount: number;
  readonly maxDeliver: number;
  readonly streamSeq: number;
  /** aborted when the queue stops: finish quickly or throw to hand the job back */
  readonly signal: AbortSignal;
  /** tells the server the job is still in progress (resets ackWait); also sent on a timer while the handler runs */
  working(): void;
}

export type JobHandler<S extends JobSubject> = (payload: Payload<S>, ctx: JobContext) => Promise<unknown>;

export interface WorkQueueOptions<S extends JobSubject> {
  /** default: the bus's JOBS stream */
  stream?: string;
  durable: string;
  /** logical job subject this queue consumes */
  filterSubject: S;
  /** deliveries allowed before the job is dead-lettered (>= 1) */
  maxDeliver: number;
  /** time the server waits for an ack (or working()) before redelivering */
  ackWaitMs: number;
  /** nak delay for retryable errors: one value, or one per attempt (the last repeats); default 1000 ms */
  backoffMs?: number | number[];
  /** handlers running at once in this process (>= 1) */
  concurrency: number;
  handler: JobHandler<S>;
  /** publish failed jobs to dead.<subject> before term(); default true */
  deadLetter?: boolean;
  /** automatic working() period while a handler runs; default ackWaitMs / 3; 0 disables */
  workingIntervalMs?: number;
  /** max unacked jobs across all workers of this durable; default max(1000, concurrency) */
  maxAckPending?: number;
}

export interface StopOptions {
  /** after this long, handlers still running are handed back with nak and stop() returns; default: wait for all */
  timeoutMs?: number;
}

export interface WorkQueue {
  readonly durable: string;
  /** handlers running now */
  inFlight(): number;
  /** stop pulling, abort the handlers' signal, wait for in-flight handlers (ack/nak them), then return */
  stop(opts?: StopOptions): Promise<void>;
}

interface Running {
  done: Promise<void>;
  handBack(): void;
}

/** Creates (or updates) the durable consumer and starts pulling; resolves once the consumer is ready. */
export async function workQueue<S extends JobSubject>(bus: Bus, opts: WorkQueueOptions<S>): Promise<WorkQueue> {
  validate(opts);
  const stream = opts.stream ?? bus.names.streams.jobs;
  const log = bus.logger;
  const consumer = await ensureConsumer(bus, stream, opts);
  const controller = new AbortController();
  const running = new Set<Running>();
  const workingEvery = opts.workingIntervalMs ?? Math.max(50, Math.floor(opts.ackWaitMs / 3));
  const deadLetter = opts.deadLetter ?? true;
  let stopping = false;
  let batch: ConsumerMessages | undefined;
  let wakeLoop: (() => void) | undefined;

  const backoff = (deliveryCount: number, err: unknown): number => {
    const own = (err as { delayMs?: unknown })?.delayMs;
    if (typeof own === 'number' && own >= 0) return own;
    const b = opts.backoffMs ?? 1000;
    if (typeof b === 'number') return b;
    return b[Math.min(deliveryCount - 1, b.length - 1)] ?? 1000;
  };

  const fail = async (m: JsMsg, letter: Omit<DeadLetter, 'failedAt' | 'stream' | 'consumer' | 'streamSeq'>) => {
    if (deadLetter) {
      try {
        await publishDeadLetter(bus, { ...letter, stream, consumer: opts.durable, streamSeq: m.info.streamSequence, failedAt: new Date().toISOString() });
      } catch (err) {
        log.error({ durable: opts.durable, seq: m.info.streamSequence, err: (err as Error).message }, 'bus: dead letter publish failed; job handed back');
        m.nak(backoff(m.info.deliveryCount, undefined));
        return;
      }
    }
    log.warn({ durable: opts.durable, subject: letter.subject, seq: m.info.streamSequence, deliveries: letter.deliveryCount,
      reason: letter.reason, err: letter.error.message }, 'bus: job dead-lettered');
    m.term();
  };

  const run = async (m: JsMsg): Promise<void> => {
    const deliveryCount = m.info.deliveryCount;
    const subject = logicalSubject(bus.names, m.subject) as S;
    const msgId = m.headers?.get('Nats-Msg-Id') || undefined;
    let handedBack = false;
    const timer = workingEvery > 0 ? setInterval(() => m.working(), workingEvery) : undefined;
    let finished!: () => void;
    const entry: Running = {
      done: new Promise<void>((r) => (finished = r)),
      handBack: () => { handedBack = true; clearInterval(timer); m.nak(); },
    };
    running.add(entry);
    const base = { subject, msgId, deliveryCount, payload: undefined as unknown };
    try {
      let payload: Payload<S>;
      try {
        payload = parsePayload(opts.filterSubject, decodeJson(m.data, subject));
      } catch (err) {
        clearInterval(timer);
        await fail(m, { ...base, payload: rawPayload(m.data, subject), error: errorSummary(err), reason: 'bad-payload' });
        return;
      }
      const ctx: JobContext = {
        subject, msgId, deliveryCount, maxDeliver: opts.maxDeliver, streamSeq: m.info.streamSequence,
        signal: controller.signal,
        working: () => { if (!handedBack) m.working(); },
      };
      try {
        await opts.handler(payload, ctx);
      } catch (err) {
        clearInterval(timer);
        if (handedBack) return;
        if (controller.signal.aborted) {
          m.nak();
          log.info({ durable: opts.durable, seq: m.info.streamSequence }, 'bus: job handed back on stop');
        } else if (isRetryable(err) && deliveryCount < opts.maxDeliver) {
          const delay = backoff(deliveryCount, err);
          m.nak(delay);
          log.warn({ durable: opts.durable, seq: m.info.streamSequence, deliveries: deliveryCount, delayMs: delay,
            err: (err as Error)?.message }, 'bus: job failed (retryable), nak with delay');
        } else {
          await fail(m, { ...base, payload: rawPayload(m.data, subject), error: errorSummary(err), reason: 'handler-error' });
        }
        return;
      }
      clearInterval(timer);
      if (handedBack) return;
      if (!(await m.ackAck({ timeout: 5000 }).catch(() => false))) {
        log.warn({ durable: opts.durable, seq: m.info.streamSequence }, 'bus: ack not confirmed; the job may be redelivered');
      }
    } finally {
      clearInterval(timer);
      running.delete(entry);
      finished();
      wakeLoop?.();
    }
  };

  const loop = async (): Promise<void> => {
    while (!stopping) {
      const free = opts.concurrency - running.size;
      if (free <= 0) {
        await new Promise<void>((r) => (wakeLoop = r));
        wakeLoop = undefined;
        continue;
      }
      try {
        batch = await consumer.fetch({ max_messages: free, expires: 1000 });
        for await (const m of batch) {
          if (stopping) {
            m.nak();
            continue;
          }
          void run(m);
        }
      } catch (err) {
        if (stopping) break;
        if (bus.nc.isClosed()) {
          log.error({ durable: opts.durable }, 'bus: connection closed, work queue stops pulling');
          break;
        }
        log.warn({ durable: opts.durable, err: (err as Error).message }, 'bus: pull failed, retrying in 1 s');
        await new Promise((r) => setTimeout(r, 1000));
      } finally {
        batch = undefined;
      }
    }
  };

  const advisories = deadLetter ? watchMaxDeliveries(bus, stream, opts.durable) : undefined;
  const looping = loop();
  log.info({ durable: opts.durable, stream, subject: opts.filterSubject, concurrency: opts.concurrency }, 'bus: work queue started');

  return {
    durable: opts.durable,
    inFlight: () => running.size,
    async stop(stopOpts: StopOptions = {}) {
      if (!stopping) {
        stopping = true;
        controller.abort(new Error('work queue stopping'));
        batch?.stop();
        wakeLoop?.();
      }
      await looping;
      const all = Promise.all([...running].map((r) => r.done));
      if (stopOpts.timeoutMs !== undefined) {
        let t: NodeJS.Timeout | undefined;
        const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((r) => (t = setTimeout(() => r(true), stopOpts.timeoutMs)))]);
        clearTimeout(t);
        if (timedOut) for (const r of running) r.handBack();
      } else {
        await all;
      }
      advisories?.unsubscribe();
      log.info({ durable: opts.durable }, 'bus: work queue stopped');
    },
  };
}

function validate<S extends JobSubject>(o: WorkQueueOptions<S>): void {
  const int = (name: string, v: unknown, min: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new Error(`${name}: must be an integer >= ${min}, got ${String(v)}`);
    }
  };
  int('maxDeliver', o.maxDeliver, 1);
  int('ackWaitMs', o.ackWaitMs, 100);
  int('concurrency', o.concurrency, 1);
  if (!/^[A-Za-z0-9_-]+$/.test(o.durable ?? '')) {
    throw new Error(`durable: must match [A-Za-z0-9_-]+, got ${JSON.stringify(o.durable)}`);
  }
  if (!o.filterSubject?.startsWith('jobs.')) {
    throw new Error(`filterSubject: must be a jobs.* subject, got ${JSON.stringify(o.filterSubject)}`);
  }
  if (typeof o.handler !== 'function') throw new Error('handler: must be a function');
  if (o.workingIntervalMs !== undefined && o.workingIntervalMs >= o.ackWaitMs) {
    throw new Error(`workingIntervalMs: must be < ackWaitMs (${o.ackWaitMs}), got ${o.workingIntervalMs}`);
  }
}

/** Creates the durable pull consumer, or updates ack wait / max deliver / max ack pending of an existing one. */
async function ensureConsumer<S extends JobSubject>(bus: Bus, stream: string, o: WorkQueueOptions<S>): Promise<Consumer> {
  const filter = wireSubject(bus.names, o.filterSubject);
  const want: Partial<ConsumerConfig> = {
    ack_wait: nanos(o.ackWaitMs),
    max_deliver: o.maxDeliver,
    max_ack_pending: o.maxAckPending ?? Math.max(1000, o.concurrency),
  };
  try {
    const info = await bus.jsm.consumers.info(stream, o.durable);
    if (info.config.filter_subject !== filter) {
      throw new Error(`durable ${o.durable}: filters ${info.config.filter_subject} on the server, this queue wants ${filter}`);
    }
    const differs = (Object.keys(want) as (keyof ConsumerConfig)[]).some((k) => info.config[k] !== want[k]);
    if (differs) await bus.jsm.consumers.update(stream, o.durable, want);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
    await bus.jsm.consumers.add(stream, {
      ...want,
      durable_name: o.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: filter,
    });
  }
  return bus.js.consumers.get(stream, o.durable);
}
