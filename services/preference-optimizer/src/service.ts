// preference-optimizer service: DPO / IPO / ORPO / SimPO / KTO, and the GRPO / PPO / best-of-N policy updates.
// Registers tuneloop.v1.PreferenceOptimizerService on a shared ServiceHost; methods not built yet answer UNIMPLEMENTED.
import { PreferenceOptimizerServiceService } from '@tuneloop/proto';
import type { ServiceModule } from '@tuneloop/service-kit';

/** Fully-qualified gRPC name, as health checks and reflection know it. */
export const SERVICE_NAME = 'tuneloop.v1.PreferenceOptimizerService';

export const preferenceOptimizer: ServiceModule = {
  name: 'preference-optimizer',
  start({ host }) {
    host.register(
      PreferenceOptimizerServiceService,
      {},
      {
        unimplemented:
          'issue 6 builds the DPO family (DPO, IPO, ORPO, SimPO, KTO); issue 7 builds GRPO, PPO and best-of-N',
      },
    );
  },
};
