// A rollout worker process (one pod / one child of `tuneloop rollout workers`): connects to NATS with
// TUNELOOP_NATS_URL / TUNELOOP_NATS_PREFIX, consumes jobs.rollout.generate, prints READY once pulling and
// `START <requestId> <batch>` when a batch begins (tests and logs), exits cleanly on SIGTERM.
import { connectBus } from '@tuneloop/bus';
import { initBackend } from '@tuneloop/engine';
import { startRolloutWorker } from './worker.ts';

const intEnv = (name: string, def: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: must be an integer >= 1, got ${JSON.stringify(raw)}`);
  return v;
};

await initBackend({ quiet: true });
const bus = await connectBus({ url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222', name: `rollout-worker-${process.pid}`, prefix: process.env.TUNELOOP_NATS_PREFIX ?? '' });
const worker = await startRolloutWorker(bus, {
  ackWaitMs: intEnv('TUNELOOP_ROLLOUT_ACK_WAIT_MS', 30_000),
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
