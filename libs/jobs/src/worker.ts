// The generic job worker: one job at a time from a JetStream work queue. It runs the job's thread module in a
// worker_thread, relays progress to progress.<jobId> (step metrics by TRL names, eta_seconds added), lets the
// thread resume from the job's checkpoint on redelivery, polls the record for a cancel, writes a done-file when
// training finishes (a redelivery then skips training), calls the service's `finish` hook (store the result)
// BEFORE the job is marked succeeded and acked, and hands the job back (nak) while `finish` fails retryably.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { isRetryable, JobStateError, jobsKv, progressReporter, transitionJob, workQueue, type Bus, type JobContext, type JobPayload, type JobSubject, type WorkQueue } from '@tuneloop/bus';
import type { Logger } from 'pino';
import { checkpointDir, doneFileOf } from './paths.ts';
import type { JobDone, JobThreadInput, JobThreadMessage } from './protocol.ts';
import { DivergedError, startJobThread, TerminatedError } from './runner.ts';

/** What `finish` hands back: the record's result (`output: {name, version}` becomes Job.output) and the final message. */
export interface JobFinish {
  result: Record<string, unknown>;
  message: string;
}

export interface FinishContext<Spec> {
  jobId: string;
  spec: Spec;
  home: string;
  attempt: number;
  logger: Logger;
  /** a log line on the job's progress stream */
  log(message: string): Promise<void>;
}

export interface JobWorkerOptions<Spec> {
  /** record kind, as given to jobRpcHandlers */
  kind: string;
  subject: JobSubject;
  /** durable consumer name, one per job kind (e.g. 'reward-model-train') */
  durable: string;
  home: string;
  logger: Logger;
  /** the job's thread module: a .ts (or .js) file URL whose default export is a JobThreadFn */
  threadModule: URL | string;
  /** the server redelivers a job this long after its worker stopped answering (default 30 s) */
  ackWaitMs?: number;
  /** how often the job record is checked for a cancel (default 500 ms) */
  cancelPollMs?: number;
  /** nak delays while `finish` fails retryably, one per attempt, the last repeating (default 5, 15, 30, 60 s) */
  retryMs?: number[];
  /** deliveries before the job is dead-lettered (default 5) */
  maxDeliver?: number;
  /**
   * Stores the result (e.g. in the model store) and returns what the job record keeps. Throw an error with
   * `retryable: true` (bus RetryableError) when a later attempt can succeed: the job is handed back un-acked,
   * still `running`, and the next attempt calls `finish` again without training. Any other error fails the job.
   */
  finish(done: JobDone, ctx: FinishContext<Spec>): Promise<JobFinish>;
  /** what `finish` stores, for the log line of a redelivery that skips training (default 'result') */
  resultName?: string;
}

async function readDone(file: string): Promise<JobDone | undefined> {
  if (!existsSync(file)) return undefined;
  const done = JSON.parse(await readFile(file, 'utf8')) as JobDone;
  return !done.outputDir || existsSync(done.outputDir) ? done : undefined;
}

function finite(m: Record<string, number>): Record<string, number> {
  for (const k of Object.keys(m)) if (typeof m[k] !== 'number' || !Number.isFinite(m[k])) delete m[k];
  return m;
}

async function runJob<Spec>(bus: Bus, opts: JobWorkerOptions<Spec>, payload: JobPayload, ctx: JobContext): Promise<void> {
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
  const spec = payload.spec as unknown as Spec;
  await transitionJob(bus, jobId, 'running');
  const report = progressReporter(bus, jobId, ctx.deliveryCount);
  await report.state('running', false, `attempt ${ctx.deliveryCount} on ${hostname()} pid ${process.pid}`);
  const doneFile = doneFileOf(opts.home, jobId);
  let total = 0;
  let resumedFrom = 0;
  let started = performance.now();
  const pending: Promise<unknown>[] = [];
  const send = (p: Promise<unknown>) => pending.push(p.catch((err: unknown) => log.warn({ err }, 'progress publish failed')));
  let lastStep: number | undefined; // the step the thread got to (kept on a failed record)
  const failed = async (message: string) => {
    try {
      await transitionJob(bus, jobId, 'failed', { error: message, ...(lastStep !== undefined ? { result: { progress: { step: lastStep, total } } } : {}) });
    } catch (err) {
      // cancelled meanwhile: the cancel already published the final event
      log.info({ err: (err as Error).message, failure: message }, 'job changed state meanwhile; not marked failed');
      return;
    }
    log.warn({ err: message }, 'job failed');
    await report.state('failed', true, message);
  };

  const trained = await readDone(doneFile);
  if (trained) {
    await report.log(`training finished in an earlier attempt; storing the ${opts.resultName ?? 'result'}`);
    return finish(trained);
  }
  const input: JobThreadInput<Spec> = { jobId, home: opts.home, spec, attempt: ctx.deliveryCount, checkpointDir: checkpointDir(opts.home, jobId) };
  const thread = startJobThread(opts.threadModule, input, (m: JobThreadMessage) => {
    ctx.working();
    if (m.type === 'ready') {
      total = m.totalSteps;
      resumedFrom = m.resumedFrom;
      lastStep = m.resumedFrom;
      started = performance.now();
      send(report.progress(m.resumedFrom, m.totalSteps, finite({ ...(m.metrics ?? {}) }), m.resumedFrom > 0 ? `resumed from checkpoint at step ${m.resumedFrom}` : 'started'));
    } else if (m.type === 'step') {
      lastStep = m.step;
      const done = m.step - resumedFrom;
      const eta = done > 0 ? (((performance.now() - started) / 1000) * (total - m.step)) / done : 0;
      send(report.progress(m.step, m.totalSteps, finite({ loss: m.loss, learning_rate: m.lr, ...(m.metrics ?? {}), eta_seconds: eta })));
    } else if (m.type === 'checkpoint') {
      send(report.log(`checkpoint at step ${m.step}`));
    } else if (m.type === 'log') {
      send(report.log(m.message));
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
  let done: JobDone;
  try {
    done = await thread.done;
    await Promise.all(pending);
    await mkdir(path.dirname(doneFile), { recursive: true }); // no checkpoint may have been written
    await writeFile(doneFile, JSON.stringify(done) + '\n');
  } catch (err) {
    await Promise.all(pending);
    if (cancelled) {
      // terminated for a cancel (a thread may report an error of its own while it is being stopped)
      log.info('job cancelled');
      return;
    }
    if (err instanceof TerminatedError) throw err; // stopping: the work queue hands the job back (nak) for another worker
    if (err instanceof JobStateError) {
      log.info({ err: (err as Error).message }, 'job changed state meanwhile (cancelled?); acking');
      return;
    }
    // bad input, divergence (the last good checkpoint stays on disk), a crash: the job fails, no retry
    await failed(err instanceof DivergedError ? err.message : (err as Error).message);
    return;
  } finally {
    clearInterval(poll);
    ctx.signal.removeEventListener('abort', onStop);
  }
  return finish(done);

  async function finish(d: JobDone): Promise<void> {
    let out: JobFinish;
    try {
      out = await opts.finish(d, { jobId, spec, home: opts.home, attempt: ctx.deliveryCount, logger: log, log: (message) => report.log(message).then(() => undefined) });
    } catch (err) {
      const message = (err as Error).message;
      if (isRetryable(err) && ctx.deliveryCount < ctx.maxDeliver) {
        log.warn({ err: message }, 'storing the result failed; the job is handed back for a later attempt');
        await report.log(`${message}; retrying (attempt ${ctx.deliveryCount} of ${ctx.maxDeliver})`).catch(() => undefined);
        throw err;
      }
      await failed(message);
      return;
    }
    try {
      await transitionJob(bus, jobId, 'succeeded', { result: out.result });
    } catch (err) {
      if (err instanceof JobStateError) {
        log.info({ err: (err as Error).message }, 'job changed state meanwhile (cancelled?); acking');
        return;
      }
      throw err;
    }
    await report.state('succeeded', true, out.message);
    log.info({ result: out.result }, 'job succeeded');
  }
}

/** Starts consuming `opts.subject` with one job at a time in this process. */
export function startJobWorker<Spec>(bus: Bus, opts: JobWorkerOptions<Spec>): Promise<WorkQueue> {
  return workQueue(bus, {
    durable: opts.durable,
    filterSubject: opts.subject,
    maxDeliver: opts.maxDeliver ?? 5,
    ackWaitMs: opts.ackWaitMs ?? 30_000,
    backoffMs: opts.retryMs ?? [5_000, 15_000, 30_000, 60_000],
    concurrency: 1,
    handler: (payload, ctx) => runJob(bus, opts, payload, ctx),
  });
}
