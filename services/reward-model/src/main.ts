// Runs the reward-model service alone (`nx serve reward-model`, one Kubernetes pod): config from TUNELOOP_*.
import { runMain } from '@tuneloop/service-kit';
import { rewardModel } from './service.ts';

await runMain('reward-model', [rewardModel]);
