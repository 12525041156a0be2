// rollout service: Generate (streaming), GenerateGroups and Verify on tuneloop.v1.RolloutService, plus one
// in-process worker on the jobs.rollout.generate queue (more workers: `tsx services/rollout/src/worker-main.ts`,
// one per pod / process; TUNELOOP_ROLLOUT_LOCAL_WORKER=off runs none here).
import { connectStore } from '@tuneloop/model-store';
import { credentials } from '@grpc/grpc-js';
import { RewardModelServiceClient, RolloutServiceService } from '@tuneloop/proto';
import { grpcTarget, type ServiceModule } from '@tuneloop/service-kit';
import { localWorkerFromEnv, workerOptionsFromEnv } from './env.ts';
import { rolloutHandlers } from './handlers.ts';
import { startRolloutWorker } from './worker.ts';

/** Fully-qualified gRPC name, as health checks and reflection know it. */
export const SERVICE_NAME = 'tuneloop.v1.RolloutService';

export const rollout: ServiceModule = {
  name: 'rollout',
  async start({ host, bus, config }) {
    // the model store: TUNELOOP_MODEL_STORE_ADDR, else this process's own gRPC server (npm start serves both)
    const storeClient = () => connectStore(process.env.TUNELOOP_MODEL_STORE_ADDR || grpcTarget(config.grpcHost, host.port));
    // reward-model verifiers: TUNELOOP_REWARD_MODEL_ADDR, else this process's own server
    const rewardModelClient = () => new RewardModelServiceClient(process.env.TUNELOOP_REWARD_MODEL_ADDR || grpcTarget(config.grpcHost, host.port), credentials.createInsecure());
    const workerOpts = workerOptionsFromEnv();
    const local = localWorkerFromEnv();
    host.register(RolloutServiceService, rolloutHandlers(bus, config.home, { storeClient, rewardModelClient }), { unimplemented: 'issue 7' });
    const worker = local ? await startRolloutWorker(bus, { ...workerOpts, home: config.home, storeClient }) : undefined;
    return { stop: async () => worker?.close() };
  },
};
