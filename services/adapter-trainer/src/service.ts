// adapter-trainer service: SFT jobs with full, partial and the LoRA family over tuneloop.v1.AdapterTrainerService.
// StartTraining validates everything (model, method, dataset) before queueing on jobs.train.sft; WatchTrainingJob
// relays progress.<jobId>; the worker (worker.ts) trains off the event loop. TUNELOOP_TRAINER_WORKER=0: API only.
import { createHash, randomUUID } from 'node:crypto';
import { createJob, enqueue, jobsKv, KvConflictError, publishProgress, transitionJob, watchProgress, JobStateError, type Bus } from '@tuneloop/bus';
import { AdapterTrainerServiceService, JobSpec } from '@tuneloop/proto';
import { FailedPreconditionError, grpcTarget, InvalidArgumentError, NotFoundError, type Handlers, type ServiceModule, type StartedService } from '@tuneloop/service-kit';
import { stateOf, toJob, toJobEvent, type StoredSpec } from './convert.ts';
import { validateRequest } from './prepare.ts';
import { startSftWorker } from './worker.ts';

/** Fully-qualified gRPC name, as health checks and reflection know it. */
export const SERVICE_NAME = 'tuneloop.v1.AdapterTrainerService';

const KIND = 'train.sft';
const JOB_ID_RE = /^[A-Za-z0-9_-]{1,200}$/;

function checkJobId(id: string): string {
  if (!JOB_ID_RE.test(id)) throw new InvalidArgumentError('job_id', `must match ${JOB_ID_RE}, got ${JSON.stringify(id)}`);
  return id;
}

async function getRecord(bus: Bus, jobId: string) {
  const rec = await (await jobsKv(bus)).get(checkJobId(jobId));
  if (!rec || rec.value.kind !== KIND) throw new NotFoundError(`job ${jobId}: not found`);
  return rec.value;
}

export function adapterTrainerHandlers(bus: Bus, home: string): Handlers<typeof AdapterTrainerServiceService> {
  return {
    async startTraining(req) {
      const jobId = req.idempotencyKey
        ? `sft-${createHash('sha256').update(req.idempotencyKey).digest('hex').slice(0, 24)}`
        : `sft-${randomUUID()}`;
      const { spec, totalSteps } = await validateRequest(home, req);
      const stored: StoredSpec = { request: JobSpec.toJSON(req.spec as JobSpec), resolved: spec as unknown as Record<string, unknown>, totalSteps };
      try {
        await createJob(bus, { jobId, kind: KIND, spec: stored as unknown as Record<string, unknown> });
      } catch (err) {
        if (err instanceof KvConflictError) return { job: toJob(await getRecord(bus, jobId)) };
        throw err;
      }
      await enqueue(bus, 'jobs.train.sft', { jobId, kind: KIND, spec: spec as unknown as Record<string, unknown> }, { msgId: jobId });
      return { job: toJob(await getRecord(bus, jobId)) };
    },

    async getTrainingJob(req) {
      return { job: toJob(await getRecord(bus, req.jobId)) };
    },

    async listTrainingJobs(req) {
      const size = req.pageSize || 100;
      if (!Number.isInteger(size) || size < 1 || size > 1000) throw new InvalidArgumentError('page_size', `must be an integer 1-1000 (0: 100), got ${req.pageSize}`);
      const want = req.status ? stateOf(req.status) : undefined;
      if (req.status && !want) throw new InvalidArgumentError('status', `unknown job status ${req.status}`);
      const kv = await jobsKv(bus);
      const keys = (await kv.keys()).sort();
      const start = req.pageToken ? keys.findIndex((k) => k > req.pageToken) : 0;
      const jobs = [];
      let next = '';
      for (let i = start < 0 ? keys.length : start; i < keys.length; i++) {
        const rec = await kv.get(keys[i]);
        if (!rec || rec.value.kind !== KIND || (want && rec.value.state !== want)) continue;
        if (jobs.length === size) {
          next = keys[i - 1];
          break;
        }
        jobs.push(toJob(rec.value));
      }
      jobs.sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0));
      return { jobs, nextPageToken: next };
    },

    async cancelTrainingJob(req) {
      const cur = await getRecord(bus, req.jobId);
      let rec;
      try {
        rec = await transitionJob(bus, cur.jobId, 'cancelled', { error: 'cancelled by request' });
      } catch (err) {
        if (err instanceof JobStateError) throw new FailedPreconditionError(`job ${req.jobId}: already ${(await getRecord(bus, req.jobId)).state}, cannot cancel`);
        throw err;
      }
      await publishProgress(bus, {
        jobId: cur.jobId, attempt: Math.max(1, rec.value.attempts), seq: 2 ** 31, kind: 'state', state: 'cancelled', final: true,
        message: 'cancelled by request', at: new Date().toISOString(),
      });
      return { job: toJob(rec.value) };
    },

    async *watchTrainingJob(req, ctx) {
      const rec = await getRecord(bus, req.jobId);
      // the current state first, then every recorded progress event (replayed) and the live ones
      yield { event: { ...(toJob(rec).lastEvent as NonNullable<ReturnType<typeof toJob>['lastEvent']>), time: new Date(rec.updatedAt), message: rec.state } };
      for await (const e of watchProgress(bus, rec.jobId, { signal: ctx.signal })) yield { event: toJobEvent(e) };
    },
  };
}

function startModule(withWorker: boolean): ServiceModule['start'] {
  return async ({ host, bus, config, logger }) => {
    // streams and buckets are provisioned by runMain / npm start (and by tests)
    host.register(AdapterTrainerServiceService, adapterTrainerHandlers(bus, config.home), { unimplemented: 'issue 5' });
    if (!withWorker || process.env.TUNELOOP_TRAINER_WORKER === '0') return;
    const ackWait = Number(process.env.TUNELOOP_TRAINER_ACK_WAIT_MS || 30_000);
    if (!Number.isInteger(ackWait) || ackWait < 1000) throw new Error(`TUNELOOP_TRAINER_ACK_WAIT_MS: must be an integer >= 1000, got ${JSON.stringify(process.env.TUNELOOP_TRAINER_ACK_WAIT_MS)}`);
    // the model store: TUNELOOP_MODEL_STORE_ADDR, else this process's own gRPC server (npm start serves both)
    const storeAddr = process.env.TUNELOOP_MODEL_STORE_ADDR;
    const storeTarget = () => storeAddr || grpcTarget(config.grpcHost, host.port);
    const queue = await startSftWorker(bus, { home: config.home, logger, ackWaitMs: ackWait, storeTarget });
    const started: StartedService = { stop: () => queue.stop({ timeoutMs: 5000 }) };
    return started;
  };
}

/** The service with one SFT worker in the same process (TUNELOOP_TRAINER_WORKER=0 leaves the worker out). */
export const adapterTrainer: ServiceModule = { name: 'adapter-trainer', start: startModule(true) };

/** The gRPC API alone (workers run elsewhere). */
export const adapterTrainerApi: ServiceModule = { name: 'adapter-trainer', start: startModule(false) };
