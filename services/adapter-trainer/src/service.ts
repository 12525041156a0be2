// adapter-trainer service: SFT jobs with full, partial and the LoRA family over tuneloop.v1.AdapterTrainerService.
// StartTraining validates everything (model, init adapter, method, dataset; folders or model-store refs) before
// queueing on jobs.train.sft; WatchTrainingJob relays progress.<jobId>; the worker (worker.ts) trains off the event
// loop. TUNELOOP_TRAINER_WORKER=0: API only. The job RPCs and the worker are @tuneloop/jobs'.
import type { Bus } from '@tuneloop/bus';
import { jobRpcHandlers } from '@tuneloop/jobs';
import { AdapterTrainerServiceService, type StartTrainingRequest } from '@tuneloop/proto';
import { grpcTarget, type Handlers, type ServiceModule, type StartedService } from '@tuneloop/service-kit';
import { validateRequest } from './prepare.ts';
import { SFT_ID_PREFIX, SFT_KIND, SFT_SUBJECT, startSftWorker } from './worker.ts';

/** Fully-qualified gRPC name, as health checks and reflection know it. */
export const SERVICE_NAME = 'tuneloop.v1.AdapterTrainerService';

/**
 * The five RPCs. `storeTarget`: the model store that store refs (base_model, init_adapter) and store:// datasets are
 * resolved in at StartTraining (none: local folders and files only).
 */
export function adapterTrainerHandlers(bus: Bus, home: string, storeTarget?: () => string | undefined): Handlers<typeof AdapterTrainerServiceService> {
  const jobs = jobRpcHandlers<StartTrainingRequest>(bus, {
    kind: SFT_KIND,
    idPrefix: SFT_ID_PREFIX,
    subject: SFT_SUBJECT,
    async validate(req) {
      const { spec, totalSteps } = await validateRequest(home, req, storeTarget);
      return { resolved: spec as unknown as Record<string, unknown>, totalSteps };
    },
  });
  return {
    startTraining: (req) => jobs.start(req),
    getTrainingJob: (req) => jobs.get(req),
    listTrainingJobs: (req) => jobs.list(req),
    cancelTrainingJob: (req) => jobs.cancel(req),
    watchTrainingJob: (req, ctx) => jobs.watch(req, ctx),
  };
}

function startModule(withWorker: boolean): ServiceModule['start'] {
  return async ({ host, bus, config, logger }) => {
    // the model store: TUNELOOP_MODEL_STORE_ADDR, else this process's own gRPC server (npm start serves both)
    const storeAddr = process.env.TUNELOOP_MODEL_STORE_ADDR;
    const storeTarget = () => storeAddr || grpcTarget(config.grpcHost, host.port);
    // streams and buckets are provisioned by runMain / npm start (and by tests)
    host.register(AdapterTrainerServiceService, adapterTrainerHandlers(bus, config.home, storeTarget), { unimplemented: 'issue 5' });
    if (!withWorker || process.env.TUNELOOP_TRAINER_WORKER === '0') return;
    const ackWait = Number(process.env.TUNELOOP_TRAINER_ACK_WAIT_MS || 30_000);
    if (!Number.isInteger(ackWait) || ackWait < 1000) throw new Error(`TUNELOOP_TRAINER_ACK_WAIT_MS: must be an integer >= 1000, got ${JSON.stringify(process.env.TUNELOOP_TRAINER_ACK_WAIT_MS)}`);
    const queue = await startSftWorker(bus, { home: config.home, logger, ackWaitMs: ackWait, storeTarget });
    const started: StartedService = { stop: () => queue.stop({ timeoutMs: 5000 }) };
    return started;
  };
}

/** The service with one SFT worker in the same process (TUNELOOP_TRAINER_WORKER=0 leaves the worker out). */
export const adapterTrainer: ServiceModule = { name: 'adapter-trainer', start: startModule(true) };

/** The gRPC API alone (workers run elsewhere). */
export const adapterTrainerApi: ServiceModule = { name: 'adapter-trainer', start: startModule(false) };
