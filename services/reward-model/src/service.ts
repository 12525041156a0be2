// reward-model service: Bradley-Terry reward model training and scoring.
// Registers tuneloop.v1.RewardModelService on a shared ServiceHost: Score is served (batched across callers);
// training jobs are not built yet and answer UNIMPLEMENTED.
import { RewardModelServiceService } from '@tuneloop/proto';
import type { ServiceModule } from '@tuneloop/service-kit';
import { RewardScorer } from './scorer.ts';

/** Fully-qualified gRPC name, as health checks and reflection know it. */
export const SERVICE_NAME = 'tuneloop.v1.RewardModelService';

export const rewardModel: ServiceModule = {
  name: 'reward-model',
  start({ host, config }) {
    const scorer = new RewardScorer(config.home);
    host.register(
      RewardModelServiceService,
      { score: (req) => scorer.score(req) },
      { unimplemented: 'issue 6 builds reward-model training jobs' },
    );
    return { stop: async () => scorer.close() };
  },
};
