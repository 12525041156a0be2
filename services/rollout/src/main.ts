// Runs the rollout service alone (`nx serve rollout`, one Kubernetes pod): config from TUNELOOP_*.
import { runMain } from '@tuneloop/service-kit';
import { rollout } from './service.ts';

await runMain('rollout', [rollout]);
