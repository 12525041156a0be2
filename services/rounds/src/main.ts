// Runs the rounds service alone (`nx serve rounds`, one Kubernetes pod): config from TUNELOOP_*.
import { runMain } from '@tuneloop/service-kit';
import { rounds } from './service.ts';

await runMain('rounds', [rounds]);
