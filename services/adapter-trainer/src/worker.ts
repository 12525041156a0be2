// The SFT worker: one job at a time from the jobs.train.sft work queue. It trains in a worker_thread, relays
// progress to progress.<jobId>, resumes from the job's checkpoint on redelivery, stores the adapter in the model
// store, and returns (so the message is acked) only after the job is recorded as succeeded, failed or cancelled.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { isRetryable, JobStateError, RetryableError, jobsKv, progressReporter, transitionJob, workQueue, type Bus, type JobContext, type JobPayload, type WorkQueue } from '@tuneloop/bus';
import type { Logger } from 'pino';
import { checkpointDir } from './checkpoint.ts';
import { storeAdapter } from './store-adapter.ts';
import type { ThreadMessage } from './train-job.ts';
import type { SftJobSpec } from './job-spec.ts';
import { startTrainingThread, TerminatedError, type DoneMessage } from './runner.ts';

export const SFT_DURABLE = 'adapter-trainer-sft';

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

/** The training result of a job whose training finished: kept beside its checkpoint so a redelivery skips training. */
const doneFileOf = (home: string, jobId: string) => path.join(path.dirname(checkpointDir(home, jobId)), 'trained.json');

async function readDone(home: string, jobId: string): Promise<DoneMessage | undefined> {
  const file = doneFileOf(home, jobId);
  if (!existsSync(file)) return undefined;
  const done = JSON.parse(await readFile(file, 'utf8')) as DoneMessage;
  return existsSync(path.join(done.adapterDir, 'adapter_model.safetensors')) ? done : undefined;
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
  const trained = await readDone(opts.home, jobId);
  if (trained) {
    await report.log(`training finished in an earlier attempt; storing the adapter`);
    return finish(trained);
  }
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
    await mkdir(path.dirname(doneFileOf(opts.home, jobId)), { recursive: true }); // no checkpoint may have been written
    await writeFile(doneFileOf(opts.home, jobId), JSON.stringify(done) + '\n');
    await finish(done);
  } catch (err) {
    await Promise.all(pending);
    if (err instanceof RetryableError) throw err; // the model store is down: nak, a later attempt stores the adapter
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

  /** Stores the adapter (base imported first if needed), then records success; store outages are retried. */
  async function finish(done: DoneMessage): Promise<void> {
    const metrics: Record<string, number> = { final_loss: done.finalLoss, steps: done.steps };
    if (done.evalLoss !== undefined) metrics.eval_loss = done.evalLoss;
    let stored;
    try {
      stored = await storeAdapter(opts.storeTarget(), { baseDir: spec.baseDir, adapterDir: done.adapterDir, name: spec.outputName, version: jobId, metrics });
    } catch (err) {
      const message = (err as Error).message;
      if (isRetryable(err) && ctx.deliveryCount < ctx.maxDeliver) {
        log.warn({ err: message }, 'model store unreachable; the job is handed back for a later attempt');
        await report.log(`${message}; retrying (attempt ${ctx.deliveryCount} of ${ctx.maxDeliver})`).catch(() => undefined);
        throw err;
      }
      log.warn({ err: message }, 'job failed: the adapter could not be stored');
      await transitionJob(bus, jobId, 'failed', { error: message }).catch(() => undefined);
      await report.state('failed', true, message);
      return;
    }
    const ref = `${stored.name}@${stored.version}`;
    const output = { name: stored.name, version: stored.version, baseModel: stored.baseModel, dir: done.adapterDir };
    await transitionJob(bus, jobId, 'succeeded', { result: { output, finalLoss: done.finalLoss, evalLoss: done.evalLoss ?? null, steps: done.steps } });
    await report.state('succeeded', true, `adapter stored as ${ref} (base ${stored.baseModel.name}@${stored.baseModel.version}${stored.baseImported ? ', imported' : ''})`);
    log.info({ adapter: ref, baseModel: stored.baseModel, adapterDir: done.adapterDir }, 'job succeeded');
  }
}

/** Starts consuming jobs.train.sft with one job at a time in this process. */
export function startSftWorker(bus: Bus, opts: SftWorkerOptions): Promise<WorkQueue> {
  return workQueue(bus, {
    durable: SFT_DURABLE,
    filterSubject: 'jobs.train.sft',
    maxDeliver: 5,
    ackWaitMs: opts.ackWaitMs ?? 30_000,
    backoffMs: opts.storeRetryMs ?? [5_000, 15_000, 30_000, 60_000],
    concurrency: 1,
    handler: (payload, ctx) => runJob(bus, opts, payload, ctx),
  });
}
