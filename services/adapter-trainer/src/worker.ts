// The SFT worker: @tuneloop/jobs' worker on jobs.train.sft, one job at a time. It trains in a worker_thread
// (train-thread.ts -> train-job.ts), relays progress, resumes from the job's checkpoint on redelivery, stores the
// adapter in the model store, and returns (so the message is acked) only after the job is recorded as
// succeeded, failed or cancelled.
import type { Bus, JobSubject, WorkQueue } from '@tuneloop/bus';
import { startJobWorker, storeAdapter } from '@tuneloop/jobs';
import type { Logger } from 'pino';
import type { SftJobSpec } from './job-spec.ts';

export const SFT_DURABLE = 'adapter-trainer-sft';
export const SFT_KIND = 'train.sft';
/** SFT job ids: `sft-<uuid>`, or `sft-<hash of the idempotency key>` (libs/jobs' idempotentJobId). */
export const SFT_ID_PREFIX = 'sft';
export const SFT_SUBJECT: JobSubject = 'jobs.train.sft';

export interface SftWorkerOptions {
  home: string;
  logger: Logger;
  /** the server redelivers a job this long after its worker stopped answering (default 30 s) */
  ackWaitMs?: number;
  /** how often the job record is checked for a cancel (default 500 ms) */
  cancelPollMs?: number;
  /** gRPC target of the model store (a function: in-process, the port is known only once the server listens) */
  storeTarget: () => string;
  /** nak delays while the model store is unreachable, one per attempt, the last repeating (default 5, 15, 30, 60 s) */
  storeRetryMs?: number[];
}

/** Starts consuming jobs.train.sft with one job at a time in this process. */
export function startSftWorker(bus: Bus, opts: SftWorkerOptions): Promise<WorkQueue> {
  return startJobWorker<SftJobSpec>(bus, {
    kind: SFT_KIND,
    subject: SFT_SUBJECT,
    durable: SFT_DURABLE,
    home: opts.home,
    logger: opts.logger,
    threadModule: new URL('./train-thread.ts', import.meta.url),
    ackWaitMs: opts.ackWaitMs,
    cancelPollMs: opts.cancelPollMs,
    retryMs: opts.storeRetryMs,
    resultName: 'adapter',
    /**
     * Stores the adapter, linked to the base: a store base's pinned version as is, a local base folder imported first
     * unless an identical version is stored. Store outages throw RetryableError (nak, later attempt).
     */
    async finish(done, { jobId, spec }) {
      const m = done.metrics ?? {};
      const metrics: Record<string, number> = { final_loss: m.final_loss, steps: m.steps };
      if (m.eval_loss !== undefined) metrics.eval_loss = m.eval_loss;
      const adapterDir = done.outputDir as string;
      const stored = await storeAdapter(opts.storeTarget(), { baseDir: spec.baseDir, ...(spec.baseStored ? { baseRef: spec.baseStored } : {}), adapterDir, name: spec.outputName, version: jobId, metrics });
      const ref = `${stored.name}@${stored.version}`;
      const output = { name: stored.name, version: stored.version, baseModel: stored.baseModel, dir: adapterDir };
      return {
        result: { output, finalLoss: m.final_loss, evalLoss: m.eval_loss ?? null, steps: m.steps },
        message: `adapter stored as ${ref} (base ${stored.baseModel.name}@${stored.baseModel.version}${stored.baseImported ? ', imported' : ''})`,
      };
    },
  });
}
