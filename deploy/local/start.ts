// `npm start`: the local tuneloop stack in one process: all six services on one gRPC server
// (default 127.0.0.1:50051), NATS (the running one, or a nats-server child), data under TUNELOOP_HOME.
// Ctrl-C / SIGTERM stops everything it started.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
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
import { startLabeling } from './labeling.ts';
import { runDemoRound } from './demo-child.ts';

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

  // The labeling web app (TUNELOOP_LABELING=off skips it); stopped by stopAll() on Ctrl-C / SIGTERM.
  const labelingPort = Number(process.env.TUNELOOP_LABELING_PORT || 3000);
  if (!Number.isInteger(labelingPort) || labelingPort < 1 || labelingPort > 65535)
    throw new StartError(
      `TUNELOOP_LABELING_PORT: must be an integer 1-65535, got ${JSON.stringify(process.env.TUNELOOP_LABELING_PORT)}`,
    );
  const labeling =
    process.env.TUNELOOP_LABELING === 'off'
      ? undefined
      : await startLabeling(
          { home: path.resolve(config.home), natsUrl: config.natsUrl, natsPrefix: config.natsPrefix, port: labelingPort },
          children,
          logger,
        );

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
    `tuneloop: serving on ${running.target} (metrics :${running.metricsPort})` +
      (labeling ? `; labeling app ${labeling.url}` : '') +
      '; Ctrl-C stops\n' +
      (labeling?.credentialsFile
        ? `tuneloop: sign in as ${labeling.adminEmail}, password in ${labeling.credentialsFile}\n`
        : ''),
  );
  if (labeling && process.env.TUNELOOP_DEMO !== 'off') void runDemoRound(config.home, labeling, logger);
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
