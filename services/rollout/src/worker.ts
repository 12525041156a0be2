// A rollout worker: consumes `jobs.rollout.generate` batch jobs, samples the groups with the policy (models
// loaded once per worker and cached), stores the result in the result KV bucket, and only then acks; a worker
// killed mid-batch leaves the job unacked, so JetStream redelivers it to another worker after ackWait.
import { hostname } from 'node:os';
import { Kvm } from '@nats-io/kv';
import { encodeJson, workQueue, type Bus, type WorkQueue } from '@tuneloop/bus';
import type { CausalLM, Tokenizer } from '@tuneloop/model';
import { encodePrompts, sampleGroups } from '@tuneloop/rl';
import { BatchSpecSchema, resultKey, type BatchResult } from './batch-job.ts';

export interface RolloutWorkerOptions {
  durable?: string; // default 'rollout-generate'
  ackWaitMs?: number; // default 30 s
  maxDeliver?: number; // default 5
  concurrency?: number; // default 1 (one batch at a time: generation is CPU-bound)
  onBatchStart?: (requestId: string, batch: number) => void;
}

type Loaded = { model: CausalLM; tokenizer: Tokenizer };

export async function startRolloutWorker(bus: Bus, opts: RolloutWorkerOptions = {}): Promise<WorkQueue & { close(): Promise<void> }> {
  const models = new Map<string, Promise<Loaded>>();
  const load = (dir: string): Promise<Loaded> => {
    let p = models.get(dir);
    if (!p) {
      p = (async () => {
        const { loadModel } = await import('@tuneloop/files');
        const m = await loadModel(dir);
        if (!m.tokenizer) throw new Error(`modelDir: ${dir} has no tokenizer.json`);
        return { model: m.model, tokenizer: m.tokenizer };
      })();
      models.set(dir, p);
      p.catch(() => models.delete(dir));
    }
    return p;
  };
  const kvm = new Kvm(bus.js);
  const worker = `${hostname()}:${process.pid}`;
  const q = await workQueue(bus, {
    durable: opts.durable ?? 'rollout-generate',
    filterSubject: 'jobs.rollout.generate',
    maxDeliver: opts.maxDeliver ?? 5,
    ackWaitMs: opts.ackWaitMs ?? 30_000,
    concurrency: opts.concurrency ?? 1,
    handler: async (payload, ctx) => {
      const spec = BatchSpecSchema.parse(payload.spec);
      opts.onBatchStart?.(spec.requestId, spec.batch);
      const { model, tokenizer } = await load(spec.modelDir);
      const ids = encodePrompts(tokenizer, model.config, spec.prompts, spec.maxNewTokens);
      const rollouts = sampleGroups(model, tokenizer, ids, {
        groupSize: spec.groupSize, maxNewTokens: spec.maxNewTokens, temperature: spec.temperature, topK: spec.topK, topP: spec.topP,
        seed: spec.seed + spec.firstPrompt * spec.groupSize, // completion k of the request always gets seed + k
      });
      ctx.working();
      const result: BatchResult = {
        requestId: spec.requestId,
        batch: spec.batch,
        worker,
        deliveryCount: ctx.deliveryCount,
        completions: rollouts.map((r, k) => ({
          promptIndex: spec.firstPrompt + r.promptIndex,
          sample: k % spec.groupSize,
          tokens: r.tokens,
          text: r.text,
          logprobs: r.logprobs,
          finishReason: r.finishReason,
        })),
      };
      const kv = await kvm.open(spec.resultBucket);
      await kv.put(resultKey(spec.requestId, spec.batch), encodeJson(result)); // stored before the ack
    },
  });
  return Object.assign(q, {
    async close() {
      await q.stop({ timeoutMs: 5000 });
      for (const p of models.values()) (await p.catch(() => null))?.model.dispose();
    },
  });
}
