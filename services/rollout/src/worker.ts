// A rollout worker: consumes `jobs.rollout.generate` jobs (GenerateGroups batches and streaming Generate
// requests), samples them with the policy (loaded once per worker and cached), and merges the sequences of the
// jobs it holds at once into one generation call (the Batcher: up to maxBatchSequences). A batch result is
// stored in the result KV bucket and only then acked, so a worker killed mid-batch leaves the job unacked and
// JetStream redelivers it to another worker after ackWait. A stream job publishes token events on core NATS
// and stops when the caller cancels.
import { hostname } from 'node:os';
import { status } from '@grpc/grpc-js';
import { Kvm } from '@nats-io/kv';
import { encodeJson, RetryableError, workQueue, type Bus, type WorkQueue } from '@tuneloop/bus';
import { connectStore } from '@tuneloop/model-store';
import type { ModelStoreServiceClient } from '@tuneloop/proto';
import { BatchSpecSchema, resultKey, StreamSpecSchema, type BatchResult, type StreamEvent } from './batch-job.ts';
import { Batcher, type EngineOptions } from './engine.ts';
import { policyKey, PolicyCache, type LoadedPolicy, type PolicySpec } from './policy.ts';

export interface RolloutWorkerOptions {
  durable?: string; // default 'rollout-generate'
  ackWaitMs?: number; // default 30 s
  maxDeliver?: number; // default 5
  concurrency?: number; // jobs held at once (their sequences are merged into one generation call); default 8
  maxBatchSequences?: number; // most sequences in one generation call; default 64
  gatherMs?: number; // an idle worker waits this long for batch mates; default 5 ms
  home?: string; // TUNELOOP_HOME: disk cache of store policies; default ./.tuneloop
  storeClient?: () => ModelStoreServiceClient; // default connectStore() (TUNELOOP_MODEL_STORE_ADDR or TUNELOOP_GRPC_ADDR)
  maxPolicies?: number; // policies kept loaded; default 2
  onBatchStart?: (requestId: string, batch: number) => void;
}

const engineOptions = (l: LoadedPolicy): EngineOptions => ({
  eosTokenIds: l.tokenizer.eosTokenId !== undefined ? [l.tokenizer.eosTokenId] : undefined,
  padTokenId: l.tokenizer.padTokenId,
  decode: (ids) => l.tokenizer.decode(ids, { skipSpecialTokens: true }),
});

export async function startRolloutWorker(bus: Bus, opts: RolloutWorkerOptions = {}): Promise<WorkQueue & { close(): Promise<void>; batcher: Batcher }> {
  const policies = new PolicyCache({
    home: opts.home ?? process.env.TUNELOOP_HOME ?? '.tuneloop',
    storeClient: opts.storeClient ?? (() => connectStore(process.env.TUNELOOP_MODEL_STORE_ADDR || undefined)),
    max: opts.maxPolicies ?? 2,
  });
  const batcher = new Batcher({ maxSequences: opts.maxBatchSequences ?? 64, gatherMs: opts.gatherMs ?? 5 });
  const kvm = new Kvm(bus.js);
  const worker = `${hostname()}:${process.pid}`;
  const nc = bus.nc;

  const q = await workQueue(bus, {
    durable: opts.durable ?? 'rollout-generate',
    filterSubject: 'jobs.rollout.generate',
    maxDeliver: opts.maxDeliver ?? 5,
    ackWaitMs: opts.ackWaitMs ?? 30_000,
    concurrency: opts.concurrency ?? 8,
    handler: async (payload, ctx) => {
      if (typeof payload.spec.streamId === 'string') { // a streaming Generate job
        const spec = StreamSpecSchema.parse(payload.spec);
        // the caller still listening? (no responders: it went away before we started; nothing to do)
        let cancelled = false;
        const sub = nc.subscribe(`${spec.subject}.cancel`, { callback: () => void (cancelled = true) }); // before hello: no cancel is missed
        const alive = await nc.request(`${spec.subject}.hello`, encodeJson({ worker }), { timeout: 5000 }).then(() => true, () => false);
        if (!alive) {
          sub.unsubscribe();
          return;
        }
        const send = (e: StreamEvent) => nc.publish(spec.subject, encodeJson(e));
        try {
          const res = await policies.use(spec.policy, (l) =>
            batcher.submit(policyKey(spec.policy), l.model, { ...engineOptions(l), onStep: () => ctx.working() }, Array.from({ length: spec.n }, (_, i) => ({
              promptIds: spec.promptIds,
              sampling: { temperature: spec.temperature, topK: spec.topK, topP: spec.topP },
              maxNewTokens: spec.maxNewTokens,
              seed: spec.seed + i,
              stopStrings: spec.stop,
              cancelled: () => cancelled || ctx.signal.aborted,
              onToken: (ev) => send({ type: 'token', index: i, ...ev }),
            }))),
          );
          if (ctx.signal.aborted && !cancelled) throw new Error('worker stopping'); // handed back: another worker restarts it
          send({ type: 'end', worker, batchSequences: res.batchSequences });
        } catch (err) {
          if (ctx.signal.aborted) throw err;
          send({ type: 'error', message: (err as Error).message, unavailable: (err as Error).name === 'UnavailableError' || (err as { code?: unknown }).code === status.UNAVAILABLE });
        } finally {
          sub.unsubscribe();
          await nc.flush();
        }
        return;
      }
      const spec = BatchSpecSchema.parse(payload.spec);
      opts.onBatchStart?.(spec.requestId, spec.batch);
      const policy: PolicySpec = spec.policy ?? { kind: 'folder', modelDir: spec.modelDir! };
      const store = async (r: BatchResult) => (await kvm.open(spec.resultBucket)).put(resultKey(spec.requestId, spec.batch), encodeJson(r));
      const res = await policies.use(policy, async (l) => {
        const { encodePrompts } = await import('@tuneloop/rl');
        const ids = encodePrompts(l.tokenizer, l.model.config, spec.prompts, spec.maxNewTokens);
        const first = spec.seed + spec.firstPrompt * spec.groupSize; // completion k of the request always gets seed + k
        return batcher.submit(policyKey(policy), l.model, { ...engineOptions(l), onStep: () => ctx.working() }, ids.flatMap((p, i) =>
          Array.from({ length: spec.groupSize }, (_, k) => ({
            promptIds: p,
            sampling: { temperature: spec.temperature, topK: spec.topK, topP: spec.topP },
            maxNewTokens: spec.maxNewTokens,
            seed: first + i * spec.groupSize + k,
            stopStrings: spec.stop,
          })),
        ));
      }).catch(async (err: unknown) => {
        // a model-store outage is retried (nak with backoff); anything else, or the last delivery, fails the
        // request at once (an error result) instead of leaving the caller to its timeout
        if (ctx.signal.aborted) throw err;
        const retry = (err as { code?: unknown }).code === status.UNAVAILABLE || (err as Error).name === 'UnavailableError';
        if (retry && ctx.deliveryCount < ctx.maxDeliver) throw new RetryableError((err as Error).message, { cause: err });
        await store({ requestId: spec.requestId, batch: spec.batch, worker, deliveryCount: ctx.deliveryCount, completions: [], error: (err as Error).message });
        return null;
      });
      if (res === null) return;
      if (ctx.signal.aborted) throw new Error('worker stopping');
      const result: BatchResult = {
        requestId: spec.requestId,
        batch: spec.batch,
        worker,
        deliveryCount: ctx.deliveryCount,
        batchSequences: res.batchSequences,
        completions: res.generations.map((g, k) => ({
          promptIndex: spec.firstPrompt + Math.floor(k / spec.groupSize),
          sample: k % spec.groupSize,
          tokens: g.tokens,
          text: g.text,
          logprobs: g.logprobs,
          finishReason: g.finishReason,
        })),
      };
      await store(result); // stored before the ack
    },
  });
  return Object.assign(q, {
    batcher,
    async close() {
      await q.stop({ timeoutMs: 5000 });
      await policies.close();
    },
  });
}
