// The one way a tuneloop service starts: `startServices` puts modules on one ServiceHost with a
// metrics endpoint (used alone by each service's main.ts, or all six by `npm start`);
// `runMain` is the whole main.ts: config, logs, NATS, serve, graceful shutdown on SIGTERM.
import { connectBus, provision, type Bus } from '@tuneloop/bus';
import type { Logger } from 'pino';
import { ConfigError, grpcTarget, loadConfig, type ServiceConfig } from './config.ts';
import { ServiceHost } from './host.ts';
import { createLogger } from './logger.ts';
import { Metrics, startMetricsServer, type MetricsServer } from './metrics.ts';

/** What a service's `start` gets. */
export interface ServiceContext {
  config: ServiceConfig;
  /** the shared gRPC server: `host.register(Definition, handlers, { unimplemented })` */
  host: ServiceHost;
  logger: Logger;
  bus: Bus;
  metrics: Metrics;
}

/** What `start` returns: how to stop work the service runs outside RPCs (consumers, workers). */
export interface StartedService {
  stop(): Promise<void>;
}

export interface ServiceModule {
  /** kebab-case, as the folder: 'model-store' */
  name: string;
  start(ctx: ServiceContext): Promise<StartedService | void> | StartedService | void;
}

export interface RunningServices {
  host: ServiceHost;
  /** gRPC target clients use, e.g. 127.0.0.1:50051 */
  target: string;
  grpcPort: number;
  metricsPort: number;
  metrics: Metrics;
  /** graceful: stop RPCs (grace period from config), stop the modules, close the metrics server */
  shutdown(): Promise<{ forced: boolean }>;
}

export async function startServices(opts: {
  config: ServiceConfig;
  logger: Logger;
  bus: Bus;
  modules: ServiceModule[];
}): Promise<RunningServices> {
  const { config, logger, bus } = opts;
  const metrics = new Metrics();
  const host = new ServiceHost(config, logger, metrics);
  const started: StartedService[] = [];
  for (const m of opts.modules) {
    const s = await m.start({ config, host, logger: logger.child({ service: m.name }), bus, metrics });
    if (s) started.push(s);
  }
  let metricsServer: MetricsServer;
  try {
    metricsServer = await startMetricsServer(metrics, config.grpcHost, config.metricsPort);
  } catch (err) {
    throw new Error(
      `metrics: cannot listen on port ${config.metricsPort} (TUNELOOP_METRICS_PORT): ${(err as Error).message}`,
      { cause: err },
    );
  }
  let grpcPort: number;
  try {
    grpcPort = await host.listen();
  } catch (err) {
    await metricsServer.close();
    throw err;
  }
  return {
    host,
    target: grpcTarget(config.grpcHost, grpcPort),
    grpcPort,
    metricsPort: metricsServer.port,
    metrics,
    async shutdown() {
      const r = await host.shutdown(config.shutdownGraceMs);
      for (const s of started.reverse()) {
        await s.stop().catch((err: unknown) => logger.error({ err }, 'service stop failed'));
      }
      await metricsServer.close();
      return { forced: r.forced };
    },
  };
}

/**
 * Calls `onSignal` once on the first SIGTERM or SIGINT; a second signal exits at once with code 1.
 * Returns a function that removes the handlers.
 */
export function onShutdownSignal(
  logger: Logger,
  onSignal: (signal: NodeJS.Signals) => Promise<void>,
): () => void {
  let received: NodeJS.Signals | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (received) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    received = signal;
    logger.info({ signal }, 'shutting down');
    onSignal(signal).catch((err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}

/** Reads the config or exits 2 printing one line per bad variable. */
export function loadConfigOrExit(program: string): ServiceConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(
      `${program}: invalid configuration\n${err.problems.map((p) => `  ${p}\n`).join('')}`,
    );
    process.exit(2);
  }
}

/** The whole of a service's main.ts: run `modules` alone in this process until SIGTERM. */
export async function runMain(name: string, modules: ServiceModule[]): Promise<void> {
  const config = loadConfigOrExit(name);
  const logger = createLogger({ name, level: config.logLevel });
  let bus: Bus;
  try {
    bus = await connectBus({ url: config.natsUrl, name, logger, prefix: config.natsPrefix });
    await provision(bus, { prefix: config.natsPrefix });
  } catch (err) {
    logger.fatal({ err }, 'cannot start: NATS is not available (TUNELOOP_NATS_URL)');
    process.exit(1);
  }
  let running: RunningServices;
  try {
    running = await startServices({ config, logger, bus, modules });
  } catch (err) {
    logger.fatal({ err }, 'cannot start');
    await bus.close();
    process.exit(1);
  }
  logger.info(
    { grpc: running.target, metricsPort: running.metricsPort, services: running.host.serviceNames },
    'serving',
  );
  onShutdownSignal(logger, async () => {
    const r = await running.shutdown();
    await bus.close();
    logger.info({ forced: r.forced }, 'stopped');
    process.exit(0);
  });
}
