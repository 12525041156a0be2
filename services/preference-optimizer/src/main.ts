// Runs the preference-optimizer service alone (`nx serve preference-optimizer`, one Kubernetes pod): config from TUNELOOP_*.
import { runMain } from '@tuneloop/service-kit';
import { preferenceOptimizer } from './service.ts';

await runMain('preference-optimizer', [preferenceOptimizer]);
