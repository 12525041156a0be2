// model-store service: quantized base models and PEFT adapters, chunked upload/download.
// Registers tuneloop.v1.ModelStoreService on a shared ServiceHost; methods not built yet answer UNIMPLEMENTED.
import { ModelStoreServiceService } from '@tuneloop/proto';
import type { ServiceModule } from '@tuneloop/service-kit';

/** Fully-qualified gRPC name, as health checks and reflection know it. */
export const SERVICE_NAME = 'tuneloop.v1.ModelStoreService';

export const modelStore: ServiceModule = {
  name: 'model-store',
  start({ host }) {
    host.register(ModelStoreServiceService, {}, { unimplemented: 'issue 4 builds the model store' });
  },
};
