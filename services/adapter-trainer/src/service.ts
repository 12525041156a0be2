// adapter-trainer service: SFT with full, partial and LoRA-family fine-tuning.
// Registers tuneloop.v1.AdapterTrainerService on a shared ServiceHost; methods not built yet answer UNIMPLEMENTED.
import { AdapterTrainerServiceService } from '@tuneloop/proto';
import type { ServiceModule } from '@tuneloop/service-kit';

/** Fully-qualified gRPC name, as health checks and reflection know it. */
export const SERVICE_NAME = 'tuneloop.v1.AdapterTrainerService';

export const adapterTrainer: ServiceModule = {
  name: 'adapter-trainer',
  start({ host }) {
    host.register(
      AdapterTrainerServiceService,
      {},
      { unimplemented: 'issue 5 builds SFT with full, partial and the LoRA family' },
    );
  },
};
