// The messages a job's worker_thread posts to the worker (plain structured-clone data).
// Steps are 1-based: `step` is the number of optimizer steps taken so far.

export type JobThreadMessage =
  /** training is set up: total steps, the step resumed from (0: fresh), metrics such as eval_loss, param counts */
  | { type: 'ready'; totalSteps: number; resumedFrom: number; metrics?: Record<string, number> }
  /** one optimizer step done; metrics by TRL / HF trainer names (rewards/accuracies, grad_norm, eval_loss, ...) */
  | { type: 'step'; step: number; totalSteps: number; loss: number; lr: number; metrics?: Record<string, number> }
  /** a checkpoint at `step` is on disk (the job resumes from it after a redelivery) */
  | { type: 'checkpoint'; step: number }
  | { type: 'log'; message: string }
  /**
   * training finished: `outputDir` (written atomically; when set, a redelivery trusts the done-file only if it
   * exists), summary metrics, and anything the service's `finish` hook needs (`result`, plain JSON)
   */
  | { type: 'done'; outputDir?: string; metrics?: Record<string, number>; result?: Record<string, unknown> }
  /** the job cannot succeed: `invalid` (bad input), `diverged` (non-finite loss/gradient at a 1-based step) */
  | { type: 'error'; message: string; invalid?: boolean; diverged?: { step: number; reason: string } };

export type JobDone = Extract<JobThreadMessage, { type: 'done' }>;

/** What every job thread gets as workerData.input. */
export interface JobThreadInput<Spec = Record<string, unknown>> {
  jobId: string;
  home: string;
  spec: Spec;
  /** delivery count of this attempt (1 = first) */
  attempt: number;
  /** TUNELOOP_HOME/jobs/<jobId>/checkpoint */
  checkpointDir: string;
}

export type JobThreadPost = (m: JobThreadMessage) => void;

/** The function a job thread module exports as default. */
export type JobThreadFn<Spec = Record<string, unknown>> = (input: JobThreadInput<Spec>, post: JobThreadPost) => Promise<void>;

/**
 * The 'error' message for an exception thrown in a job thread: INVALID_ARGUMENT errors (code 'INVALID_ARGUMENT'
 * or 3) are `invalid`; a TrainingDivergedError (@tuneloop/objectives, 0-based `step`) becomes
 * "step N: <reason>" with N 1-based (the step that would have been taken), `diverged`.
 */
export function errorMessageOf(e: unknown): Extract<JobThreadMessage, { type: 'error' }> {
  const err = e as { message?: string; code?: unknown; name?: string; step?: unknown; reason?: unknown };
  if (err?.name === 'TrainingDivergedError' && typeof err.step === 'number' && typeof err.reason === 'string') {
    const step = err.step + 1;
    return { type: 'error', message: `step ${step}: ${err.reason}`, diverged: { step, reason: err.reason } };
  }
  return { type: 'error', message: String(err?.message ?? e), invalid: err?.code === 'INVALID_ARGUMENT' || err?.code === 3 };
}
