// Reward-model training jobs on @tuneloop/jobs: Start/Get/List/Cancel/WatchRewardJob on the work queue
// jobs.train.reward; the worker trains in a worker_thread (reward-thread.ts) and stores the reward model folder
// in the model store as model version <output_name>@<jobId> before the job is marked succeeded and acked.
import type { Bus, JobSubject, WorkQueue } from '@tuneloop/bus';
import { jobRpcHandlers, startJobWorker, storeModelFolder, type JobRpcHandlers } from '@tuneloop/jobs';
import type { StartRewardTrainingRequest } from '@tuneloop/proto';
import type { Logger } from 'pino';
import { validateRewardRequest, type RewardJobSpec } from './job-spec.ts';


export const REWARD_KIND = 'train.reward';
export const REWARD_SUBJECT: JobSubject = 'jobs.train.reward';
export const REWARD_DURABLE = 'reward-model-train';

export function rewardJobHandlers(bus: Bus, home: string, storeTarget: () => string): JobRpcHandlers<StartRewardTrainingRequest> {
  return jobRpcHandlers<StartRewardTrainingRequest>(bus, {
    kind: REWARD_KIND,
    idPrefix: 'rm',
    subject: REWARD_SUBJECT,
    async validate(req) {
      const spec = await validateRewardRequest(home, req, storeTarget());
      return { resolved: spec as unknown as Record<string, unknown>, totalSteps: spec.totalSteps };
    },
  });
}

export interface RewardWorkerOptions {
  home: string;
  logger: Logger;
  storeTarget: () => string;
  ackWaitMs?: number;
  cancelPollMs?: number;
  /** nak delays while the model store is unreachable (default 5, 15, 30, 60 s) */
  storeRetryMs?: number[];
}

/** One reward-model job at a time from jobs.train.reward in this process. */
export function startRewardWorker(bus: Bus, opts: RewardWorkerOptions): Promise<WorkQueue> {
  return startJobWorker<RewardJobSpec>(bus, {
    kind: REWARD_KIND,
    subject: REWARD_SUBJECT,
    durable: REWARD_DURABLE,
    home: opts.home,
    logger: opts.logger,
    threadModule: new URL('./reward-thread.ts', import.meta.url),
    ackWaitMs: opts.ackWaitMs,
    cancelPollMs: opts.cancelPollMs,
    retryMs: opts.storeRetryMs,
    resultName: 'reward model',
    async finish(done, { jobId, spec }) {
      const stored = await storeModelFolder(opts.storeTarget(), done.outputDir as string, spec.outputName, jobId);
      const m = done.metrics ?? {};
      const acc = m.eval_accuracy;
      return {
        result: { output: stored, dir: done.outputDir, finalLoss: m.final_loss ?? null, evalAccuracy: acc ?? null, evalMeanMargin: m.eval_mean_margin ?? null, steps: m.steps },
        message: `reward model stored as ${stored.name}@${stored.version}${acc === undefined ? '' : ` (held-out accuracy ${(100 * acc).toFixed(1)}%)`}`,
      };
    },
  });
}
