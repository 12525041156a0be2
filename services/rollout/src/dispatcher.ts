// The client side of the rollout pool: splits a GenerateGroups request into contiguous prompt batches, enqueues
// one `jobs.rollout.generate` job per batch (msgId = request + batch, so a retried submit is deduplicated),
// and assembles the result from the result KV bucket: one entry per batch key, so a batch that was redelivered
// after a worker died is still counted once.
import { randomUUID } from 'node:crypto';
import { Kvm } from '@nats-io/kv';
import { decodeJson, enqueue, type Bus } from '@tuneloop/bus';
import { BatchResultSchema, resultKey, type BatchSpec, type CompletionRecord } from './batch-job.ts';
import type { PolicySpec } from './policy.ts';

export interface GroupsRequest {
  modelDir?: string; // a model folder, or:
  policy?: PolicySpec; // a resolved policy (folder or pinned model-store versions)
  prompts: { prompt: string; reference?: string }[];
  groupSize: number;
  maxNewTokens?: number; // default 16
  temperature?: number; // default 1
  topK?: number;
  topP?: number;
  seed?: number; // default 0
  stop?: string[]; // stop strings
  batchSize?: number; // prompts per job; default 4
  requestId?: string;
  timeoutMs?: number; // default 10 min
  signal?: AbortSignal; // the caller went away: stop waiting (queued batches still run; results expire with the bucket TTL)
}

export interface GroupsResult {
  requestId: string;
  completions: CompletionRecord[]; // [P * G], prompt-major
  workers: Record<string, number>; // batches stored per worker
  redelivered: number; // batches whose stored result came from a delivery > 1
  batchSequences: number[]; // per batch: sequences in the generation call that made it (> its own: merged)
}

/** A batch failed on a worker for good (after its retries): the request cannot complete. */
export class RolloutBatchError extends Error {
  override name = 'RolloutBatchError';
}

export function resultBucketName(bus: Bus): string {
  return `${bus.names.prefix}rollout_results`;
}

export async function ensureResultBucket(bus: Bus) {
  return new Kvm(bus.js).create(resultBucketName(bus), { history: 1, ttl: 3_600_000 });
}

export async function dispatchGroups(bus: Bus, req: GroupsRequest): Promise<GroupsResult> {
  if (!req.policy === !req.modelDir) throw new Error('dispatchGroups: give exactly one of modelDir and policy');
  const requestId = req.requestId ?? randomUUID().replace(/-/g, '');
  const batchSize = req.batchSize ?? 4;
  const kv = await ensureResultBucket(bus);
  const batches: BatchSpec[] = [];
  for (let i = 0; i < req.prompts.length; i += batchSize) {
    batches.push({
      requestId, batch: batches.length, batches: 0, ...(req.policy ? { policy: req.policy } : { modelDir: req.modelDir }), firstPrompt: i, prompts: req.prompts.slice(i, i + batchSize),
      groupSize: req.groupSize, maxNewTokens: req.maxNewTokens ?? 16, temperature: req.temperature ?? 1, topK: req.topK ?? 0, topP: req.topP ?? 1,
      seed: req.seed ?? 0, stop: req.stop ?? [], resultBucket: resultBucketName(bus),
    });
  }
  for (const b of batches) b.batches = batches.length;
  const got = new Map<number, ReturnType<typeof BatchResultSchema.parse>>();
  const ac = new AbortController();
  const watcher = await kv.watch({ key: `${requestId}.*` });
  const done = (async () => {
    for await (const e of watcher) {
      if (e.operation !== 'PUT') continue;
      const r = BatchResultSchema.parse(decodeJson(e.value, e.key));
      if (r.error !== undefined) throw new RolloutBatchError(`rollout ${requestId}: batch ${r.batch} failed on ${r.worker}: ${r.error}`);
      got.set(r.batch, r);
      if (got.size === batches.length) break;
    }
  })();
  for (const b of batches) {
    await enqueue(bus, 'jobs.rollout.generate', { jobId: `${requestId}-${b.batch}`, kind: 'rollout.generate', spec: b }, { msgId: `rollout-${resultKey(requestId, b.batch)}` });
  }
  const timeout = new Promise<never>((_, reject) => {
    const t = setTimeout(() => reject(new Error(`rollout ${requestId}: ${got.size}/${batches.length} batches after ${req.timeoutMs ?? 600_000} ms`)), req.timeoutMs ?? 600_000);
    ac.signal.addEventListener('abort', () => clearTimeout(t));
    req.signal?.addEventListener('abort', () => reject(new Error(`rollout ${requestId}: cancelled`)), { once: true });
  });
  try {
    await Promise.race([done, timeout]);
  } finally {
    ac.abort();
    watcher.stop();
  }
  const ordered = [...got.values()].sort((a, b) => a.batch - b.batch);
  const workers: Record<string, number> = {};
  for (const r of ordered) workers[r.worker] = (workers[r.worker] ?? 0) + 1;
  return { requestId, completions: ordered.flatMap((r) => r.completions), workers, redelivered: ordered.filter((r) => r.deliveryCount > 1).length,
    batchSequences: ordered.map((r) => r.batchSequences ?? 0) };
}
