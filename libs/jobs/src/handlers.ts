// Start / Get / List / Cancel / Watch for one kind of job, shared by every job service (adapter-trainer,
// reward-model, preference-optimizer): records in the jobs KV, the payload on a JetStream work queue, progress
// relayed from progress.<jobId>. Each service maps these five onto its own RPC names.
import { createHash, randomUUID } from 'node:crypto';
import { createJob, enqueue, jobsKv, JobStateError, KvConflictError, ProgressEventSchema, progressSubject, publishProgress, transitionJob, watchProgress, type Bus, type JobRecord, type JobSubject, type ProgressEvent } from '@tuneloop/bus';
import { JobSpec, type Job, type JobEvent, type JobStatus } from '@tuneloop/proto';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@tuneloop/service-kit';
import { stateOf, toJob, toJobEvent, type StoredSpec } from './convert.ts';

/**
 * The newest event kept on progress.<jobId> (undefined when there is none, e.g. past the stream's max age); with
 * `withStep`, the newest one that carries a step (a log or state event may come after the last step event: the
 * job's events before it are read forward, in windows further and further back).
 */
export async function lastProgress(bus: Bus, jobId: string, opts: { withStep?: boolean } = {}): Promise<ProgressEvent | undefined> {
  const stream = bus.names.streams.progress;
  const subject = progressSubject(bus, jobId);
  const parse = (m: Awaited<ReturnType<Bus['jsm']['streams']['getMessage']>>) => {
    const r = m ? ProgressEventSchema.safeParse(m.json()) : undefined;
    return r?.success ? r.data : undefined;
  };
  const newest = await bus.jsm.streams.getMessage(stream, { last_by_subj: subject });
  const e = parse(newest);
  if (!newest || !opts.withStep || e?.step !== undefined) return e;
  for (let hi = newest.seq, window = 64; hi > 1 && window <= 4096; window *= 8) {
    const lo = Math.max(1, hi - window);
    let found: ProgressEvent | undefined;
    for (let seq = lo; ; ) {
      // STREAM.MSG.GET honours next_by_subj (the job's first event at or after seq); the client's type omits it
      const m = await bus.jsm.streams.getMessage(stream, { seq, next_by_subj: subject } as unknown as { seq: number });
      if (!m || m.seq >= hi) break;
      const x = parse(m);
      if (x?.step !== undefined) found = x;
      seq = m.seq + 1;
    }
    if (found) return found;
    hi = lo;
  }
  return e;
}

/**
 * A record as a Job whose lastEvent carries the progress: a queued / running job's newest step event (step,
 * metrics) looked up on progress.<jobId>; a finished job's from the record (see toJob).
 */
export async function toJobWithProgress(bus: Bus, rec: JobRecord): Promise<Job> {
  const job = toJob(rec);
  if (rec.state !== 'queued' && rec.state !== 'running') return job;
  const e = await lastProgress(bus, rec.jobId, { withStep: true });
  if (!e || e.step === undefined) return job;
  const ev = toJobEvent(e);
  return { ...job, lastEvent: { ...ev, status: job.status, totalSteps: ev.totalSteps || (job.lastEvent?.totalSteps ?? 0) } };
}

const JOB_ID_RE = /^[A-Za-z0-9_-]{1,200}$/;

export interface JobRpcOptions<Req> {
  /** the record's kind, e.g. 'train.sft', 'train.reward'; Get/List/Cancel/Watch see only jobs of this kind */
  kind: string;
  /** job ids are `<idPrefix>-<uuid>` (or `<idPrefix>-<sha256(idempotency key)>`) */
  idPrefix: string;
  /** the work-queue subject, e.g. 'jobs.train.reward' */
  subject: JobSubject;
  /**
   * Checks the request completely before anything is recorded (throw InvalidArgumentError / NotFoundError) and
   * returns the resolved spec (plain JSON, the payload the worker gets) and the number of steps the job will run.
   */
  validate(req: Req): Promise<{ resolved: Record<string, unknown>; totalSteps: number }>;
}

export interface StartLike {
  spec?: JobSpec;
  idempotencyKey: string;
}

export interface JobRpcHandlers<Req> {
  start(req: Req): Promise<{ job: Job }>;
  get(req: { jobId: string }): Promise<{ job: Job }>;
  list(req: { pageSize: number; pageToken: string; status: JobStatus }): Promise<{ jobs: Job[]; nextPageToken: string }>;
  cancel(req: { jobId: string }): Promise<{ job: Job }>;
  watch(req: { jobId: string }, ctx: { signal: AbortSignal }): AsyncGenerator<{ event: JobEvent }>;
}

/** The job id a Start with this idempotency key gets (so another service can find a job it started, e.g. to cancel it). */
export function idempotentJobId(idPrefix: string, idempotencyKey: string): string {
  return `${idPrefix}-${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24)}`;
}

export function checkJobIdArg(id: string): string {
  if (!JOB_ID_RE.test(id)) throw new InvalidArgumentError('job_id', `must match ${JOB_ID_RE}, got ${JSON.stringify(id)}`);
  return id;
}

export function jobRpcHandlers<Req extends StartLike>(bus: Bus, opts: JobRpcOptions<Req>): JobRpcHandlers<Req> {
  const { kind } = opts;
  async function getRecord(jobId: string) {
    const rec = await (await jobsKv(bus)).get(checkJobIdArg(jobId));
    if (!rec || rec.value.kind !== kind) throw new NotFoundError(`job ${jobId}: not found`);
    return rec.value;
  }

  return {
    async start(req) {
      const jobId = req.idempotencyKey ? idempotentJobId(opts.idPrefix, req.idempotencyKey) : `${opts.idPrefix}-${randomUUID()}`;
      const { resolved, totalSteps } = await opts.validate(req);
      const stored: StoredSpec = { request: JobSpec.toJSON((req.spec ?? JobSpec.fromPartial({})) as JobSpec), resolved, totalSteps };
      try {
        await createJob(bus, { jobId, kind, spec: stored as unknown as Record<string, unknown> });
      } catch (err) {
        if (err instanceof KvConflictError) return { job: toJob(await getRecord(jobId)) };
        throw err;
      }
      await enqueue(bus, opts.subject, { jobId, kind, spec: resolved }, { msgId: jobId });
      return { job: toJob(await getRecord(jobId)) };
    },

    async get(req) {
      return { job: await toJobWithProgress(bus, await getRecord(req.jobId)) };
    },

    async list(req) {
      const size = req.pageSize || 100;
      if (!Number.isInteger(size) || size < 1 || size > 1000) throw new InvalidArgumentError('page_size', `must be an integer 1-1000 (0: 100), got ${req.pageSize}`);
      const want = req.status ? stateOf(req.status) : undefined;
      if (req.status && !want) throw new InvalidArgumentError('status', `unknown job status ${req.status}`);
      const kv = await jobsKv(bus);
      const keys = (await kv.keys()).sort();
      const start = req.pageToken ? keys.findIndex((k) => k > req.pageToken) : 0;
      const jobs: Job[] = [];
      let next = '';
      for (let i = start < 0 ? keys.length : start; i < keys.length; i++) {
        const rec = await kv.get(keys[i]);
        if (!rec || rec.value.kind !== kind || (want && rec.value.state !== want)) continue;
        if (jobs.length === size) {
          next = keys[i - 1];
          break;
        }
        jobs.push(await toJobWithProgress(bus, rec.value));
      }
      jobs.sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0));
      return { jobs, nextPageToken: next };
    },

    async cancel(req) {
      const cur = await getRecord(req.jobId);
      // the step it got to, kept on the record and in the final event (the worker stops without another event)
      const last = cur.state === 'running' ? await lastProgress(bus, cur.jobId, { withStep: true }) : undefined;
      const at = last?.step !== undefined ? { step: last.step, total: last.total ?? last.step } : undefined;
      let rec;
      try {
        rec = await transitionJob(bus, cur.jobId, 'cancelled', { error: 'cancelled by request', ...(at ? { result: { progress: at } } : {}) });
      } catch (err) {
        if (err instanceof JobStateError) throw new FailedPreconditionError(`job ${req.jobId}: already ${(await getRecord(req.jobId)).state}, cannot cancel`);
        throw err;
      }
      await publishProgress(bus, {
        jobId: cur.jobId, attempt: Math.max(1, rec.value.attempts), seq: 2 ** 31, kind: 'state', state: 'cancelled', final: true,
        message: 'cancelled by request', at: new Date().toISOString(), ...(at ?? {}),
      });
      return { job: toJob(rec.value) };
    },

    async *watch(req, ctx) {
      const rec = await getRecord(req.jobId);
      // the current state first, then every recorded progress event (replayed) and the live ones
      const job = toJob(rec);
      yield { event: { ...(job.lastEvent as JobEvent), time: new Date(rec.updatedAt), message: rec.state } };
      for await (const e of watchProgress(bus, rec.jobId, { signal: ctx.signal })) yield { event: toJobEvent(e) };
    },
  };
}
