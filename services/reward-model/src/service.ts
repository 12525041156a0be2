// reward-model service: Bradley-Terry reward model training jobs, evaluation and scoring over
// tuneloop.v1.RewardModelService. StartRewardTraining validates everything (base model, method, every pair)
// before queueing on jobs.train.reward; the worker (jobs.ts, one per process unless TUNELOOP_REWARD_WORKER=0)
// trains off the event loop and stores the result in the model store; Score is batched across callers;
// EvaluateRewardModel computes pairwise accuracy on held-out pairs.
import { RewardModelServiceService } from '@tuneloop/proto';
import { grpcTarget, type ServiceModule, type StartedService } from '@tuneloop/service-kit';
import { evaluateRequest } from './evaluate.ts';
import { rewardJobHandlers, startRewardWorker } from './jobs.ts';
import { RewardScorer } from './scorer.ts';

/** Fully-qualified gRPC name, as health checks and reflection know it. */
export const SERVICE_NAME = 'tuneloop.v1.RewardModelService';

function startModule(withWorker: boolean): ServiceModule['start'] {
  return async ({ host, bus, config, logger }) => {
    // the model store: TUNELOOP_MODEL_STORE_ADDR, else this process's own gRPC server (npm start serves both)
    const storeAddr = process.env.TUNELOOP_MODEL_STORE_ADDR;
    const storeTarget = () => storeAddr || grpcTarget(config.grpcHost, host.port);
    const scorer = new RewardScorer(config.home, undefined, storeTarget);
    const jobs = rewardJobHandlers(bus, config.home, storeTarget);
    host.register(RewardModelServiceService, {
      startRewardTraining: (req) => jobs.start(req),
      getRewardJob: (req) => jobs.get(req),
      listRewardJobs: (req) => jobs.list(req),
      cancelRewardJob: (req) => jobs.cancel(req),
      watchRewardJob: (req, ctx) => jobs.watch(req, ctx),
      score: (req) => scorer.score(req),
      evaluateRewardModel: (req) => evaluateRequest(config.home, scorer, req),
    }, { unimplemented: 'not expected: every RPC is served' });
    let stopQueue = async () => {};
    // a process that only scores (tests, benchmarks) may run without the JOBS stream: then no worker
    const provisioned = await bus.jsm.streams.info(bus.names.streams.jobs).then(() => true, () => false);
    if (withWorker && !provisioned) logger.warn({ stream: bus.names.streams.jobs }, 'reward-model: jobs stream not provisioned; training worker not started');
    if (withWorker && provisioned && process.env.TUNELOOP_REWARD_WORKER !== '0') {
      const ackWait = Number(process.env.TUNELOOP_REWARD_ACK_WAIT_MS || 30_000);
      if (!Number.isInteger(ackWait) || ackWait < 1000) throw new Error(`TUNELOOP_REWARD_ACK_WAIT_MS: must be an integer >= 1000, got ${JSON.stringify(process.env.TUNELOOP_REWARD_ACK_WAIT_MS)}`);
      const queue = await startRewardWorker(bus, { home: config.home, logger, ackWaitMs: ackWait, storeTarget });
      stopQueue = () => queue.stop({ timeoutMs: 5000 });
    }
    const started: StartedService = {
      stop: async () => {
        await stopQueue();
        scorer.close();
      },
    };
    return started;
  };
}

/** The service with one reward-model training worker in the same process (TUNELOOP_REWARD_WORKER=0 leaves it out). */
export const rewardModel: ServiceModule = { name: 'reward-model', start: startModule(true) };

/** The gRPC API alone (workers run elsewhere). */
export const rewardModelApi: ServiceModule = { name: 'reward-model', start: startModule(false) };
