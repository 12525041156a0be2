// Runs the adapter-trainer service alone (`nx serve adapter-trainer`, one Kubernetes pod): config from TUNELOOP_*.
import { runMain } from '@tuneloop/service-kit';
import { adapterTrainer } from './service.ts';

await runMain('adapter-trainer', [adapterTrainer]);
