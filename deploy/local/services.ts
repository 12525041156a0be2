// The six tuneloop services of the local stack, in start order.
import { adapterTrainer } from '@tuneloop/adapter-trainer';
import { modelStore } from '@tuneloop/model-store';
import { preferenceOptimizer } from '@tuneloop/preference-optimizer';
import { rewardModel } from '@tuneloop/reward-model';
import { rollout } from '@tuneloop/rollout';
import { rounds } from '@tuneloop/rounds';
import type { ServiceModule } from '@tuneloop/service-kit';

export const LOCAL_SERVICES: ServiceModule[] = [
  modelStore,
  adapterTrainer,
  rewardModel,
  rollout,
  preferenceOptimizer,
  rounds,
];
