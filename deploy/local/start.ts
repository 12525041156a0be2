// `npm start`: the local tuneloop stack in one process: all six services on one gRPC server
// (default 127.0.0.1:50051), NATS (the running one, or a nats-server child), data under TUNELOOP_HOME.
// Ctrl-C / SIGTERM stops everything it started.
import { mkdirSync } from 'node:fs';
import { connectBus, provision, type Bus } from '@tuneloop/bus';
import {
  createLogger,
  loadConfigOrExit,
  onShutdownSignal,
  startServices,
  type RunningServices,
} from '@tuneloop/service-kit';
import { Children } from './children.ts';
import { StartError, ensureNats } from './nats.ts';
import { LOCAL_SERVICES } from './services.ts';

const config = loadConfigOrExit('tuneloop start');
const logger = createLogger({ name: 'tuneloop', level: config.logLevel });
const children = new Children(logger);
let bus: Bus | undefined;
let running: RunningServices | undefined;

async function stopAll(): Promise<void> {
  if (running) await running.shutdown();
  if (bus) await bus.close();
  await children.stopAll();
}

try {
  mkdirSync(config.home, { recursive: true });
  await ensureNats(config.natsUrl, config.home, children, logger);
  bus = await connectBus({ url: config.natsUrl, name: 'tuneloop-local', logger, prefix: config.natsPrefix });
  await provision(bus);
  running = await startServices({ config, logger, bus, modules: LOCAL_SERVICES });

  // ── Lead: start the labeling web app here (children.spawn('labeling', ...), apps/labeling) and,
  // ── once it answers, the demo round. Both are stopped by stopAll() on Ctrl-C / SIGTERM.

  logger.info(
    {
      grpc: running.target,
      metricsPort: running.metricsPort,
      home: config.home,
      services: running.host.serviceNames,
    },
    'serving',
  );
  process.stderr.write(
    `tuneloop: serving on ${running.target} (metrics :${running.metricsPort}); Ctrl-C stops\n`,
  );
} catch (err) {
  await stopAll().catch(() => undefined);
  const message = err instanceof Error ? err.message : String(err);
  if (!(err instanceof StartError)) logger.error({ err }, 'cannot start');
  process.stderr.write(`tuneloop start: ${message.split('\n')[0]}\n`);
  process.exit(1);
}

onShutdownSignal(logger, async () => {
  await stopAll();
  logger.info('stopped');
  process.exit(0);
});
