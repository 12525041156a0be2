// Runs the model-store service alone (`nx serve model-store`, one Kubernetes pod): config from TUNELOOP_*.
import { runMain } from '@tuneloop/service-kit';
import { modelStore } from './service.ts';

await runMain('model-store', [modelStore]);
