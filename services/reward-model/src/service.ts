// reward-model service: Bradley-Terry reward model training and scoring.
// Registers tuneloop.v1.RewardModelService on a shared ServiceHost; methods not built yet answer UNIMPLEMENTED.
import { RewardModelServiceService } from '@tuneloop/proto';
import type { ServiceModule } from '@tuneloop/service-kit';

/** Fully-qualified gRPC name, as health checks and reflection know it. */
export const SERVICE_NAME = 'tuneloop.v1.RewardModelService';

export const rewardModel: ServiceModule = {
  name: 'reward-model',
  start({ host }) {
    host.register(
      RewardModelServiceService,
      {},
      { unimplemented: 'issue 6 builds reward-model training and scoring' },
    );
  },
};
