// rollout service: Verify and GenerateGroups on tuneloop.v1.RolloutService, plus one in-process worker on the
// jobs.rollout.generate queue (more workers: `tsx services/rollout/src/worker-main.ts`, one per pod / process).
import { RolloutServiceService } from '@tuneloop/proto';
import type { ServiceModule } from '@tuneloop/service-kit';
import { rolloutHandlers } from './handlers.ts';
import { startRolloutWorker } from './worker.ts';

/** Fully-qualified gRPC name, as health checks and reflection know it. */
export const SERVICE_NAME = 'tuneloop.v1.RolloutService';

export const rollout: ServiceModule = {
  name: 'rollout',
  async start({ host, bus, config }) {
    host.register(RolloutServiceService, rolloutHandlers(bus, config.home), { unimplemented: 'issue 7: streaming Generate is not built yet' });
    const worker = await startRolloutWorker(bus);
    return { stop: () => worker.close() };
  },
};
