// rollout service: generation workers and verifiers (GRPO groups, best-of-N, PPO rollouts).
// Registers tuneloop.v1.RolloutService on a shared ServiceHost; methods not built yet answer UNIMPLEMENTED.
import { RolloutServiceService } from '@tuneloop/proto';
import type { ServiceModule } from '@tuneloop/service-kit';

/** Fully-qualified gRPC name, as health checks and reflection know it. */
export const SERVICE_NAME = 'tuneloop.v1.RolloutService';

export const rollout: ServiceModule = {
  name: 'rollout',
  start({ host }) {
    host.register(
      RolloutServiceService,
      {},
      { unimplemented: 'issue 7 builds generation, GRPO groups and verifiers' },
    );
  },
};
