// Job and round records in the `jobs` / `rounds` KV buckets, and CAS state transitions of a job
// (queued -> running -> succeeded | failed | cancelled; running -> queued on retry), announced on events.job.updated.
import { z } from 'zod';
import type { Bus } from './connect.ts';
import { typedKv, type TypedKv, type Versioned } from './kv.ts';
import { publish } from './publish.ts';
import { JobStateSchema, type JobState } from './subjects.ts';

const isoTime = z.string().datetime({ offset: true });

export const JobRecordSchema = z.object({
  jobId: z.string().min(1),
  /** job kind = subject without 'jobs.', e.g. 'train.sft' */
  kind: z.string().min(1),
  state: JobStateSchema,
  spec: z.record(z.string(), z.unknown()),
  /** deliveries that started running */
  attempts: z.number().int().nonnegative().default(0),
  result: z.record(z.string(), z.unknown()).optional(),
  error: z.string().optional(),
  createdAt: isoTime,
  updatedAt: isoTime,
});
export type JobRecord = z.output<typeof JobRecordSchema>;
export type JobRecordIn = z.input<typeof JobRecordSchema>;

/** A round as the rounds service stores it; fields beyond these are kept (passthrough). */
export const RoundRecordSchema = z
  .object({
    roundId: z.string().min(1),
    projectId: z.string().min(1),
    state: z.string().min(1),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .passthrough();
export type RoundRecord = z.output<typeof RoundRecordSchema>;

export function jobsKv(bus: Bus): Promise<TypedKv<JobRecord>> {
  return typedKv(bus, bus.names.kv.jobs, JobRecordSchema);
}

export function roundsKv(bus: Bus): Promise<TypedKv<RoundRecord>> {
  return typedKv(bus, bus.names.kv.rounds, RoundRecordSchema);
}

const NEXT: Record<JobState, readonly JobState[]> = {
  queued: ['running', 'cancelled', 'failed'],
  running: ['succeeded', 'failed', 'cancelled', 'queued', 'running'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

/** A transition the job state machine does not allow (e.g. out of a terminal state). */
export class JobStateError extends Error {
  override readonly name = 'JobStateError';
  readonly code = 'FAILED_PRECONDITION';
  readonly retryable = false;
}

export function isTerminal(state: JobState): boolean {
  return NEXT[state].length === 0;
}

/**
 * Moves a job to `state` with a CAS update (retried on conflict) and publishes events.job.updated
 * (dedup id `<jobId>.<revision>`). `patch` may set result / error. running -> running counts an attempt.
 */
export async function transitionJob(
  bus: Bus,
  jobId: string,
  state: JobState,
  patch: { result?: Record<string, unknown>; error?: string } = {},
): Promise<Versioned<JobRecord>> {
  const kv = await jobsKv(bus);
  const rec = await kv.modify(jobId, (cur) => {
    if (!cur) throw new JobStateError(`job ${jobId}: not found`);
    if (!NEXT[cur.state].includes(state)) throw new JobStateError(`job ${jobId}: cannot go from ${cur.state} to ${state}`);
    return {
      ...cur,
      ...patch,
      state,
      attempts: state === 'running' ? cur.attempts + 1 : cur.attempts,
      updatedAt: new Date().toISOString(),
    };
  });
  await publish(bus, 'events.job.updated', {
    jobId, kind: rec.value.kind, state, ...(rec.value.error ? { error: rec.value.error } : {}), updatedAt: rec.value.updatedAt,
  }, { msgId: `${jobId}.${rec.revision}` });
  return rec;
}

/** Records a new job as queued (KvConflictError if the id exists). Enqueue it separately with enqueue(). */
export async function createJob(bus: Bus, job: { jobId: string; kind: string; spec: Record<string, unknown> }): Promise<Versioned<JobRecord>> {
  const kv = await jobsKv(bus);
  const now = new Date().toISOString();
  const value: JobRecord = { ...job, state: 'queued', attempts: 0, createdAt: now, updatedAt: now };
  const revision = await kv.create(job.jobId, value);
  return { key: job.jobId, value, revision, updatedAt: new Date(now) };
}
