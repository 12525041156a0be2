// rounds service: alignment rounds, the state machine of the feedback loop.
// Registers tuneloop.v1.RoundsService on a shared ServiceHost; methods not built yet answer UNIMPLEMENTED.
import { RoundsServiceService } from '@tuneloop/proto';
import type { ServiceModule } from '@tuneloop/service-kit';

/** Fully-qualified gRPC name, as health checks and reflection know it. */
export const SERVICE_NAME = 'tuneloop.v1.RoundsService';

export const rounds: ServiceModule = {
  name: 'rounds',
  start({ host }) {
    host.register(
      RoundsServiceService,
      {},
      { unimplemented: 'the rounds issue builds the feedback-loop state machine' },
    );
  },
};
