// preference-optimizer service: DPO / IPO / ORPO / SimPO / KTO jobs on jobs.optimize.preference and GRPO / PPO /
// best-of-N jobs on jobs.optimize.rl, over tuneloop.v1.PreferenceOptimizerService. StartOptimization checks
// everything (model, method, data, objective, verifier) before queueing; one worker per family trains in a
// worker_thread (@tuneloop/jobs) and stores the adapter in the model store before the ack.
// TUNELOOP_OPTIMIZER_WORKER=0: API only.
import { grpcTarget, type ServiceModule, type StartedService } from '@tuneloop/service-kit';
import type { Bus, WorkQueue } from '@tuneloop/bus';
import { jobRpcHandlers, startJobWorker, storeAdapter, type JobDone, type FinishContext } from '@tuneloop/jobs';

import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { AdapterTrainerServiceClient, PreferenceOptimizerServiceService, type StartOptimizationRequest } from '@tuneloop/proto';
import type { Logger } from 'pino';
import { resolveSpec, SUBJECTS, type OptimizeJobSpec } from './job-spec.ts';
import type { OptimizeResult } from './optimize-thread.ts';
import { sftJobIdOf } from './train/best-of-n-pipeline.ts';
import { validateRequest } from './prepare.ts';

/** Fully-qualified gRPC name, as health checks and reflection know it. */
export const SERVICE_NAME = 'tuneloop.v1.PreferenceOptimizerService';

/** Job record kinds and durable consumer names of the two queues. */
export const KINDS = { preference: 'optimize.preference', rl: 'optimize.rl' } as const;
export const DURABLES = { preference: 'preference-optimizer-preference', rl: 'preference-optimizer-rl' } as const;

export interface OptimizerOptions {
  home: string;
  /** gRPC target of the model store (a function: in-process, the port is known only once the server listens) */
  storeTarget: () => string | undefined;
  /** gRPC targets of the rollout service and the adapter trainer (best-of-N jobs use both) */
  rolloutTarget?: () => string | undefined;
  trainerTarget?: () => string | undefined;
}

/** The five RPCs: one StartOptimization for both queues (by objective); Get / List / Cancel / Watch see both kinds. */
export function preferenceOptimizerHandlers(bus: Bus, o: OptimizerOptions) {
  const validate = async (req: StartOptimizationRequest) => {
    const { resolved, totalSteps } = await validateRequest(o.home, req, o.storeTarget, { rollout: o.rolloutTarget, trainer: o.trainerTarget });
    return { resolved: resolved as unknown as Record<string, unknown>, totalSteps };
  };
  const pref = jobRpcHandlers<StartOptimizationRequest>(bus, { kind: KINDS.preference, idPrefix: 'pref', subject: SUBJECTS.preference, validate });
  const rl = jobRpcHandlers<StartOptimizationRequest>(bus, { kind: KINDS.rl, idPrefix: 'rl', subject: SUBJECTS.rl, validate });
  const byId = (jobId: string) => (jobId.startsWith('rl-') ? rl : pref);
  return {
    startOptimization: async (req: StartOptimizationRequest) => (resolveSpec(req.spec, req.options).family === 'rl' ? rl : pref).start(req),
    getOptimizationJob: (req: { jobId: string }) => byId(req.jobId).get(req),
    async listOptimizationJobs(req: { pageSize: number; pageToken: string; status: number }) {
      // two kinds, one listing: both lists in full (by page), merged newest first, then paged here
      const all = [];
      for (const h of [pref, rl]) {
        let pageToken = '';
        do {
          const r = await h.list({ pageSize: 1000, pageToken, status: req.status });
          all.push(...r.jobs);
          pageToken = r.nextPageToken;
        } while (pageToken);
      }
      all.sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0));
      const size = req.pageSize > 0 ? Math.min(req.pageSize, 1000) : 100;
      const from = req.pageToken ? Number(req.pageToken) : 0;
      const start = Number.isInteger(from) && from >= 0 ? from : 0;
      const jobs = all.slice(start, start + size);
      return { jobs, nextPageToken: start + size < all.length ? String(start + size) : '' };
    },
    async cancelOptimizationJob(req: { jobId: string }) {
      const res = await byId(req.jobId).cancel(req);
      // a best-of-N job's SFT runs on the adapter trainer: cancel it too
      if (res.job.spec?.objective?.$case === 'bestOfN' && o.trainerTarget) await cancelSftJob(o.trainerTarget(), sftJobIdOf(res.job.jobId));
      return res;
    },
    watchOptimizationJob: (req: { jobId: string }, ctx: { signal: AbortSignal }) => byId(req.jobId).watch(req, ctx),
  };
}

/**
 * Cancels a best-of-N job's SFT job on the adapter trainer. It may not exist yet (the job was sampling, and its
 * thread is being stopped: the worker polls for the cancel every 500 ms), so a NOT_FOUND is asked again for 2 s;
 * an SFT job that already ended is left as it is.
 */
async function cancelSftJob(target: string | undefined, sftJobId: string): Promise<void> {
  if (!target) return;
  const c = new AdapterTrainerServiceClient(target, credentials.createInsecure());
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      const err = await new Promise<ServiceError | null>((resolve) => c.cancelTrainingJob({ jobId: sftJobId }, new Metadata(), { deadline: new Date(Date.now() + 10_000) }, (e) => resolve(e)));
      if (!err || err.code !== status.NOT_FOUND) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    c.close();
  }
}

/** Stores the adapter (its base imported first if needed) before the job is marked succeeded. */
async function finish(done: JobDone, ctx: FinishContext<OptimizeJobSpec>, storeTarget: () => string | undefined) {
  const r = done.result as unknown as OptimizeResult;
  if (r.stored) {
    // best-of-N: the adapter trainer's SFT job stored the adapter
    const output = { name: r.stored.name, version: r.stored.version };
    return {
      result: { output, objective: ctx.spec.objective, finalLoss: Number.isFinite(r.finalLoss) ? r.finalLoss : null, steps: r.steps, sftJobId: r.sftJobId, metrics: done.metrics ?? {} },
      message: `adapter stored as ${output.name}@${output.version} by the adapter trainer's SFT job ${r.sftJobId}`,
    };
  }
  const target = storeTarget();
  if (!target) throw new Error('no model store configured (TUNELOOP_MODEL_STORE_ADDR)');
  const metrics = Object.fromEntries(Object.entries(done.metrics ?? {}).filter(([, v]) => Number.isFinite(v)));
  const stored = await storeAdapter(target, { baseDir: r.baseDir, baseName: r.baseName, adapterDir: r.adapterDir, name: r.outputName, version: ctx.jobId, metrics: { ...metrics, final_loss: r.finalLoss } });
  const output = { name: stored.name, version: stored.version, baseModel: stored.baseModel, dir: r.adapterDir };
  return {
    result: { output, objective: ctx.spec.objective, finalLoss: Number.isFinite(r.finalLoss) ? r.finalLoss : null, steps: r.steps, metrics: done.metrics ?? {} },
    message: `adapter stored as ${stored.name}@${stored.version} (base ${stored.baseModel.name}@${stored.baseModel.version}${stored.baseImported ? ', imported' : ''})`,
  };
}

/** Starts one worker per queue (one job at a time each) in this process. */
export async function startOptimizerWorkers(bus: Bus, o: OptimizerOptions & { logger: Logger; ackWaitMs?: number; retryMs?: number[]; families?: ('preference' | 'rl')[] }) {
  const threadModule = new URL('./optimize-thread.ts', import.meta.url);
  const queues: WorkQueue[] = [];
  for (const family of o.families ?? (['preference', 'rl'] as const)) {
    queues.push(await startJobWorker<OptimizeJobSpec>(bus, {
      kind: KINDS[family], subject: SUBJECTS[family], durable: DURABLES[family], home: o.home, logger: o.logger, threadModule,
      ackWaitMs: o.ackWaitMs, retryMs: o.retryMs, resultName: 'adapter',
      finish: (done, ctx) => finish(done, ctx, o.storeTarget),
    }));
  }
  return { stop: async (opts: { timeoutMs: number }) => void (await Promise.all(queues.map((q) => q.stop(opts)))) };
}

function startModule(withWorker: boolean): ServiceModule['start'] {
  return async ({ host, bus, config, logger }) => {
    const storeAddr = process.env.TUNELOOP_MODEL_STORE_ADDR;
    // the model store: TUNELOOP_MODEL_STORE_ADDR, else this process's own gRPC server (npm start serves both)
    const storeTarget = () => storeAddr || grpcTarget(config.grpcHost, host.port);
    // best-of-N's rollout service and adapter trainer: TUNELOOP_ROLLOUT_ADDR / TUNELOOP_ADAPTER_TRAINER_ADDR, else this server
    const rolloutTarget = () => process.env.TUNELOOP_ROLLOUT_ADDR || grpcTarget(config.grpcHost, host.port);
    const trainerTarget = () => process.env.TUNELOOP_ADAPTER_TRAINER_ADDR || grpcTarget(config.grpcHost, host.port);
    host.register(PreferenceOptimizerServiceService, preferenceOptimizerHandlers(bus, { home: config.home, storeTarget, rolloutTarget, trainerTarget }), { unimplemented: 'issue 6 / 7' });
    if (!withWorker || process.env.TUNELOOP_OPTIMIZER_WORKER === '0') return;
    const ackWait = Number(process.env.TUNELOOP_OPTIMIZER_ACK_WAIT_MS || 30_000);
    if (!Number.isInteger(ackWait) || ackWait < 1000) throw new Error(`TUNELOOP_OPTIMIZER_ACK_WAIT_MS: must be an integer >= 1000, got ${JSON.stringify(process.env.TUNELOOP_OPTIMIZER_ACK_WAIT_MS)}`);
    const workers = await startOptimizerWorkers(bus, { home: config.home, storeTarget, logger, ackWaitMs: ackWait });
    const started: StartedService = { stop: () => workers.stop({ timeoutMs: 5000 }) };
    return started;
  };
}

/** The service with one worker per queue in the same process (TUNELOOP_OPTIMIZER_WORKER=0 leaves them out). */
export const preferenceOptimizer: ServiceModule = { name: 'preference-optimizer', start: startModule(true) };

/** The gRPC API alone (workers run elsewhere). */
export const preferenceOptimizerApi: ServiceModule = { name: 'preference-optimizer', start: startModule(false) };
