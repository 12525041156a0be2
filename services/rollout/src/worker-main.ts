// A rollout worker process (one pod / one child of the scale-out bench): connects to NATS with
// TUNELOOP_NATS_URL / TUNELOOP_NATS_PREFIX, consumes jobs.rollout.generate, prints READY once pulling and
// `START <requestId> <batch>` when a batch begins (tests and logs), exits cleanly on SIGTERM. Store policies
// come from TUNELOOP_MODEL_STORE_ADDR (else TUNELOOP_GRPC_ADDR) into TUNELOOP_HOME/cache/rollout.
import { connectBus } from '@tuneloop/bus';
import { initBackend } from '@tuneloop/engine';
import { workerOptionsFromEnv } from './env.ts';
import { startRolloutWorker } from './worker.ts';

const opts = workerOptionsFromEnv();
await initBackend({ quiet: true });
const bus = await connectBus({ url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222', name: `rollout-worker-${process.pid}`, prefix: process.env.TUNELOOP_NATS_PREFIX ?? '' });
const worker = await startRolloutWorker(bus, {
  ...opts,
  onBatchStart: (req, batch) => process.stdout.write(`START ${req} ${batch}\n`),
});
process.stdout.write('READY\n');
const stop = async () => {
  await worker.close();
  await bus.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
