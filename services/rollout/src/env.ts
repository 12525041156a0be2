// Worker settings from the environment (service module and worker-main.ts), one clear error per bad value.
import type { RolloutWorkerOptions } from './worker.ts';

function intEnv(name: string, def: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new Error(`${name}: must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return v;
}

/** TUNELOOP_ROLLOUT_ACK_WAIT_MS, _CONCURRENCY, _MAX_BATCH, _GATHER_MS, _MAX_POLICIES. */
export function workerOptionsFromEnv(): RolloutWorkerOptions {
  return {
    ackWaitMs: intEnv('TUNELOOP_ROLLOUT_ACK_WAIT_MS', 30_000, 100),
    concurrency: intEnv('TUNELOOP_ROLLOUT_CONCURRENCY', 8),
    maxBatchSequences: intEnv('TUNELOOP_ROLLOUT_MAX_BATCH', 64),
    gatherMs: intEnv('TUNELOOP_ROLLOUT_GATHER_MS', 5, 0),
    maxPolicies: intEnv('TUNELOOP_ROLLOUT_MAX_POLICIES', 2),
  };
}

/** TUNELOOP_ROLLOUT_LOCAL_WORKER: 'off' / '0' / 'false' runs no worker inside the service process. */
export function localWorkerFromEnv(): boolean {
  const raw = (process.env.TUNELOOP_ROLLOUT_LOCAL_WORKER ?? '').toLowerCase();
  if (['', 'on', '1', 'true'].includes(raw)) return true;
  if (['off', '0', 'false'].includes(raw)) return false;
  throw new Error(`TUNELOOP_ROLLOUT_LOCAL_WORKER: must be on or off, got ${JSON.stringify(process.env.TUNELOOP_ROLLOUT_LOCAL_WORKER)}`);
}
