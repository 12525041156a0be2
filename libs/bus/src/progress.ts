// Job progress events on progress.<jobId> (PROGRESS stream) and watchProgress(): an ordered consumer that
// replays a job's history from the start and then follows live events (what WatchJob RPCs relay).
import { z } from 'zod';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { Bus } from './connect.ts';
import { wireSubject } from './names.ts';
import { decodeJson, publishRaw, type PublishResult } from './publish.ts';
import { JobStateSchema } from './subjects.ts';

export const ProgressEventSchema = z.object({
  jobId: z.string().min(1),
  /** delivery attempt that produced the event (1 = first) */
  attempt: z.number().int().positive().default(1),
  /** per-attempt counter; with attempt and jobId it is the dedup id */
  seq: z.number().int().nonnegative(),
  kind: z.enum(['progress', 'log', 'metric', 'state']),
  step: z.number().int().nonnegative().optional(),
  total: z.number().int().nonnegative().optional(),
  message: z.string().optional(),
  metrics: z.record(z.string(), z.number()).optional(),
  state: JobStateSchema.optional(),
  /** the last event of the job: watchers stop after it */
  final: z.boolean().default(false),
  at: z.string().datetime({ offset: true }),
});
export type ProgressEvent = z.output<typeof ProgressEventSchema>;
export type ProgressEventIn = z.input<typeof ProgressEventSchema>;

const JOB_ID_RE = /^[A-Za-z0-9_-]{1,200}$/;

/** jobIds become a subject token: letters, digits, '_' and '-' only. */
export function checkJobId(jobId: string): void {
  if (typeof jobId !== 'string' || !JOB_ID_RE.test(jobId)) {
    throw new Error(`jobId: must match ${JOB_ID_RE} (it is a subject token), got ${JSON.stringify(jobId)}`);
  }
}

export function progressSubject(bus: Bus, jobId: string): string {
  checkJobId(jobId);
  return wireSubject(bus.names, `progress.${jobId}`);
}

/** Publishes one progress event (validated; dedup id `<jobId>.<attempt>.<seq>`). */
export async function publishProgress(bus: Bus, event: ProgressEventIn): Promise<PublishResult> {
  const r = ProgressEventSchema.safeParse(event);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`progress: ${i.path.join('.') || '(event)'}: ${i.message}`);
  }
  const e = r.data;
  return publishRaw(bus, progressSubject(bus, e.jobId), e, { msgId: `${e.jobId}.${e.attempt}.${e.seq}` });
}

/** A per-attempt progress publisher that numbers its events itself. */
export function progressReporter(bus: Bus, jobId: string, attempt = 1) {
  checkJobId(jobId);
  let seq = 0;
  const send = (e: Omit<ProgressEventIn, 'jobId' | 'attempt' | 'seq' | 'at'>) =>
    publishProgress(bus, { ...e, jobId, attempt, seq: seq++, at: new Date().toISOString() });
  return {
    progress: (step: number, total: number, metrics?: Record<string, number>, message?: string) =>
      send({ kind: 'progress', step, total, ...(metrics ? { metrics } : {}), ...(message ? { message } : {}) }),
    log: (message: string) => send({ kind: 'log', message }),
    metric: (metrics: Record<string, number>, step?: number) => send({ kind: 'metric', metrics, ...(step !== undefined ? { step } : {}) }),
    state: (state: z.infer<typeof JobStateSchema>, final = false, message?: string) =>
      send({ kind: 'state', state, final, ...(message ? { message } : {}) }),
  };
}

export interface WatchProgressOptions {
  /** stop the iteration (cleanly) when aborted */
  signal?: AbortSignal;
  /** end after an event with final: true; default true */
  stopAtFinal?: boolean;
}

/** Replays every stored event of `jobId` from the start, then yields live ones (ordered consumer, no durable state). */
export async function* watchProgress(bus: Bus, jobId: string, opts: WatchProgressOptions = {}): AsyncGenerator<ProgressEvent> {
  const subject = progressSubject(bus, jobId);
  if (opts.signal?.aborted) return;
  const consumer = await bus.js.consumers.get(bus.names.streams.progress, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.All,
  });
  const msgs = await consumer.consume({ max_messages: 256 });
  const onAbort = () => msgs.stop();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const m of msgs) {
      const event = ProgressEventSchema.parse(decodeJson(m.data, subject));
      yield event;
      if (event.final && opts.stopAtFinal !== false) break;
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    msgs.stop();
    await consumer.delete().catch(() => undefined);
  }
}
