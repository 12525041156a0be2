// The SFT worker: one job at a time from the jobs.train.sft work queue. It trains in a worker_thread, relays
// progress to progress.<jobId>, resumes from the job's checkpoint on redelivery, and returns (so the message is
// acked) only after the adapter folder is written and the job is recorded as succeeded, failed or cancelled.
import { hostname } from 'node:os';
import { JobStateError, jobsKv, progressReporter, transitionJob, workQueue, type Bus, type JobContext, type JobPayload, type WorkQueue } from '@tuneloop/bus';
import type { Logger } from 'pino';
import { adapterDirOf, type ThreadMessage } from './train-job.ts';
import type { SftJobSpec } from './job-spec.ts';
import { startTrainingThread, TerminatedError } from './runner.ts';

export const SFT_DURABLE = 'adapter-trainer-sft';

export interface SftWorkerOptions {
  home: string;
  logger: Logger;
  /** the server redelivers a job this long after its worker stopped answering (default 30 s) */
  ackWaitMs?: number;
  /** how often the job record is checked for a cancel (default 500 ms) */
  cancelPollMs?: number;
}

/** Metrics of a step event, by TRL / HF trainer names. */
function stepMetrics(r: Extract<ThreadMessage, { type: 'step' }>['report'], etaSeconds: number): Record<string, number> {
  const m: Record<string, number> = {
    loss: r.loss, learning_rate: r.lr, grad_norm: r.gradNorm, tokens_per_second: r.seconds > 0 ? r.tokens / r.seconds : 0, eta_seconds: etaSeconds,
  };
  if (r.evalLoss !== undefined) m.eval_loss = r.evalLoss;
  for (const k of Object.keys(m)) if (!Number.isFinite(m[k])) delete m[k];
  return m;
}

async function runJob(bus: Bus, opts: SftWorkerOptions, payload: JobPayload, ctx: JobContext): Promise<void> {
  const { jobId } = payload;
  const log = opts.logger.child({ jobId, delivery: ctx.deliveryCount });
  const kv = await jobsKv(bus);
  const rec = await kv.get(jobId);
  if (!rec) {
    log.warn('job record missing; dropping the message');
    return;
  }
  if (rec.value.state !== 'queued' && rec.value.state !== 'running') {
    log.info({ state: rec.value.state }, 'job already finished; acking');
    return;
  }
  const spec = payload.spec as unknown as SftJobSpec;
  await transitionJob(bus, jobId, 'running');
  const report = progressReporter(bus, jobId, ctx.deliveryCount);
  await report.state('running', false, `attempt ${ctx.deliveryCount} on ${hostname()} pid ${process.pid}`);
  let total = 0;
  let resumedFrom = 0;
  let started = performance.now();
  const pending: Promise<unknown>[] = [];
  const send = (p: Promise<unknown>) => pending.push(p.catch((err: unknown) => log.warn({ err }, 'progress publish failed')));
  const thread = startTrainingThread({ jobId, home: opts.home, spec }, (m) => {
    ctx.working();
    if (m.type === 'ready') {
      total = m.totalSteps;
      resumedFrom = m.resumedFrom;
      started = performance.now();
      const metrics: Record<string, number> = { trainable_params: m.trainable, all_params: m.total, train_rows: m.trainRows, eval_rows: m.evalRows };
      if (m.evalLoss !== undefined) metrics.eval_loss = m.evalLoss;
      send(report.progress(m.resumedFrom, m.totalSteps, metrics, m.resumedFrom > 0 ? `resumed from checkpoint at step ${m.resumedFrom}` : 'started'));
    } else if (m.type === 'step') {
      const done = m.report.step - resumedFrom;
      const eta = done > 0 ? (((performance.now() - started) / 1000) * (total - m.report.step)) / done : 0;
      send(report.progress(m.report.step, m.report.totalSteps, stepMetrics(m.report, eta)));
    } else if (m.type === 'checkpoint') {
      send(report.log(`checkpoint at step ${m.step}`));
    }
  });
  let cancelled = false;
  const poll = setInterval(() => {
    void kv.get(jobId).then((r) => {
      if (r?.value.state === 'cancelled' && !cancelled) {
        cancelled = true;
        void thread.terminate();
      }
    }, () => undefined);
  }, opts.cancelPollMs ?? 500);
  const onStop = () => void thread.terminate();
  ctx.signal.addEventListener('abort', onStop, { once: true });
  try {
    const done = await thread.done;
    await Promise.all(pending);
    const output = { name: spec.outputName, version: jobId, dir: adapterDirOf(opts.home, spec.outputName, jobId) };
    await transitionJob(bus, jobId, 'succeeded', { result: { output, finalLoss: done.finalLoss, evalLoss: done.evalLoss ?? null, steps: done.steps } });
    await report.state('succeeded', true, `adapter stored at ${done.adapterDir}`);
    log.info({ adapterDir: done.adapterDir }, 'job succeeded');
  } catch (err) {
    await Promise.all(pending);
    if (err instanceof TerminatedError) {
      if (cancelled) {
        log.info('job cancelled');
        return;
      }
      throw err; // stopping: the work queue hands the job back (nak) for another worker
    }
    if (err instanceof JobStateError) {
      log.info({ err: (err as Error).message }, 'job changed state meanwhile (cancelled?); acking');
      return;
    }
    const message = (err as Error).message;
    log.warn({ err: message }, 'job failed');
    await transitionJob(bus, jobId, 'failed', { error: message }).catch(() => undefined);
    await report.state('failed', true, message);
  } finally {
    clearInterval(poll);
    ctx.signal.removeEventListener('abort', onStop);
  }
}

/** Starts consuming jobs.train.sft with one job at a time in this process. */
export function startSftWorker(bus: Bus, opts: SftWorkerOptions): Promise<WorkQueue> {
  return workQueue(bus, {
    durable: SFT_DURABLE,
    filterSubject: 'jobs.train.sft',
    maxDeliver: 5,
    ackWaitMs: opts.ackWaitMs ?? 30_000,
    concurrency: 1,
    handler: (payload, ctx) => runJob(bus, opts, payload, ctx),
  });
}
