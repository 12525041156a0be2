// Test support: run service modules in this process on free ports, against the real NATS server,
// with a unique bus prefix and silent logs. Not used in production code paths.
import { randomUUID } from 'node:crypto';
import { connectBus } from '@tuneloop/bus';
import { loadConfig, type ServiceConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { startServices, type RunningServices, type ServiceModule } from './bootstrap.ts';

export interface TestServices extends RunningServices {
  config: ServiceConfig;
  /** graceful shutdown, then closes the NATS connection */
  close(): Promise<void>;
}

/** Starts `modules` on 127.0.0.1 with ports 0; `env` adds or overrides TUNELOOP_* variables. */
export async function startTestServices(
  modules: ServiceModule[],
  env: Record<string, string> = {},
): Promise<TestServices> {
  const config = loadConfig({
    TUNELOOP_GRPC_ADDR: '127.0.0.1:0',
    TUNELOOP_METRICS_PORT: '0',
    TUNELOOP_LOG_LEVEL: 'silent',
    TUNELOOP_NATS_PREFIX: `t${randomUUID().slice(0, 8)}`,
    TUNELOOP_SHUTDOWN_GRACE_MS: '2000',
    TUNELOOP_NATS_URL: process.env.TUNELOOP_NATS_URL ?? '',
    ...env,
  });
  const logger = createLogger({ name: 'test', level: config.logLevel });
  const bus = await connectBus({ url: config.natsUrl, name: 'test', prefix: config.natsPrefix });
  try {
    const running = await startServices({ config, logger, bus, modules });
    return {
      ...running,
      config,
      async close() {
        await running.shutdown();
        await bus.close();
      },
    };
  } catch (err) {
    await bus.close();
    throw err;
  }
}
