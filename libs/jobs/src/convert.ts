// Job records (jobs KV) and progress events (PROGRESS stream) -> tuneloop.v1 Job / JobEvent messages.
import type { JobRecord, ProgressEvent } from '@tuneloop/bus';
import { Job, JobEvent, JobSpec, JobStatus } from '@tuneloop/proto';

const STATUS: Record<string, JobStatus> = {
  queued: JobStatus.QUEUED,
  running: JobStatus.RUNNING,
  succeeded: JobStatus.SUCCEEDED,
  failed: JobStatus.FAILED,
  cancelled: JobStatus.CANCELLED,
};

export function statusOf(state: string): JobStatus {
  return STATUS[state] ?? JobStatus.UNSPECIFIED;
}

export function stateOf(status: JobStatus): string | undefined {
  return Object.entries(STATUS).find(([, s]) => s === status)?.[0];
}

/** What StartTraining stores as the record's spec: the request's JobSpec (JSON) plus the resolved job spec. */
export interface StoredSpec {
  request: unknown;
  resolved: Record<string, unknown>;
  totalSteps: number;
}

export function toJob(rec: JobRecord): Job {
  const stored = rec.spec as unknown as Partial<StoredSpec>;
  const result = rec.result as { output?: { name: string; version: string }; progress?: { step: number; total: number } } | undefined;
  const terminal = ['succeeded', 'failed', 'cancelled'].includes(rec.state);
  const total = stored.totalSteps ?? 0;
  // a finished job's progress: the step it got to (kept by cancel / the worker's failure), all steps once succeeded
  const step = result?.progress?.step ?? (rec.state === 'succeeded' ? total : 0);
  return Job.fromPartial({
    jobId: rec.jobId,
    spec: stored.request ? JobSpec.fromJSON(stored.request) : undefined,
    status: statusOf(rec.state),
    createdAt: new Date(rec.createdAt),
    startedAt: rec.state !== 'queued' && rec.attempts > 0 ? new Date(rec.updatedAt) : undefined,
    finishedAt: terminal ? new Date(rec.updatedAt) : undefined,
    error: rec.error ?? '',
    output: result?.output ? { name: result.output.name, version: result.output.version } : undefined,
    lastEvent: { jobId: rec.jobId, status: statusOf(rec.state), step, totalSteps: result?.progress?.total || total },
  });
}

export function toJobEvent(e: ProgressEvent): JobEvent {
  const metrics = { ...(e.metrics ?? {}) };
  return JobEvent.fromPartial({
    jobId: e.jobId,
    status: e.state ? statusOf(e.state) : JobStatus.RUNNING,
    step: e.step ?? 0,
    totalSteps: e.total ?? 0,
    loss: metrics.loss ?? 0,
    learningRate: metrics.learning_rate ?? 0,
    metrics: { ...metrics, attempt: e.attempt },
    etaSeconds: metrics.eta_seconds ?? 0,
    time: new Date(e.at),
    message: e.message ?? (e.kind === 'state' && e.state ? e.state : ''),
  });
}
