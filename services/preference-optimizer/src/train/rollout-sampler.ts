// GRPO on the rollout service (options.rollout = "service"): the policy changes after every generation batch, so
// before each batch its adapter is pushed to the model store as `<jobId>-policy@b<batch>` (linked to the pinned
// base), then GenerateGroups samples the batch on the rollout workers (more replicas, more rollouts) with the batch's
// seed and scores it with the job's verifier. The previous batch's version is deleted once the next one is stored,
// the last one when the job ends. Only the tokens and rewards are used: the trainer recomputes the old log-probs.
import path from 'node:path';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { writeFolderAtomic } from '@tuneloop/files';
import { connectStore, storeAdapter } from '@tuneloop/jobs';
import { encodeAdapterFiles, saveAdapter, type PeftModel } from '@tuneloop/peft';
import { RolloutServiceClient, type GenerateGroupsResponse } from '@tuneloop/proto';
import type { GroupSampler, Rollout } from '@tuneloop/rl';
import type { OptimizeJobSpec } from '../job-spec.ts';
import { finishOf, rpcError, verifierJson } from './best-of-n-pipeline.ts';

const CALL_MS = 10 * 60_000;

export const policyAdapterName = (jobId: string) => `${jobId}-policy`;

export interface RolloutSampler {
  sample: GroupSampler;
  /** seconds of the last batch: pushing the adapter, sampling on the service */
  timings(): { sync_seconds: number; rollout_seconds: number };
  /** deletes the last pushed version and closes the clients */
  close(): Promise<void>;
}

export function rolloutSampler(o: { jobId: string; jobDir: string; pm: PeftModel; spec: OptimizeJobSpec; storeTarget: string; rolloutTarget: string }): RolloutSampler {
  const name = policyAdapterName(o.jobId);
  const base = o.spec.base;
  const rollout = new RolloutServiceClient(o.rolloutTarget, credentials.createInsecure());
  const verifier = verifierJson(o.spec);
  let pushed: string | undefined;
  let last = { sync_seconds: 0, rollout_seconds: 0 };

  const remove = async (version: string) => {
    const c = connectStore(o.storeTarget);
    try {
      await new Promise<void>((resolve, reject) =>
        c.deleteAdapter({ ref: { name, version } }, new Metadata(), { deadline: new Date(Date.now() + CALL_MS) }, (e) => (e && e.code !== status.NOT_FOUND ? reject(rpcError(`model store: deleting adapter ${name}@${version}`, e)) : resolve())),
      );
    } finally {
      c.close();
    }
  };

  const sample: GroupSampler = async ({ step, prompts, promptIds, options }) => {
    const t0 = performance.now();
    const version = `b${step}`;
    const dir = path.join(o.jobDir, 'policy-sync');
    o.pm.setTraining(false);
    const files = encodeAdapterFiles(saveAdapter(o.pm, { baseModel: `${base.name}@${base.version}` }));
    o.pm.setTraining(true);
    await writeFolderAtomic(dir, new Map(Object.entries(files)), () => true);
    // a redelivered job pushes the same weights again (exact resume): storeAdapter accepts identical files
    await storeAdapter(o.storeTarget, { baseDir: dir, baseRef: base, adapterDir: dir, name, version, metrics: {} });
    if (pushed && pushed !== version) await remove(pushed);
    pushed = version;
    const t1 = performance.now();
    const res = await new Promise<GenerateGroupsResponse>((resolve, reject) =>
      rollout.generateGroups(
        {
          policy: { base, adapter: { name, version } },
          prompts: prompts.map((p) => ({ prompt: p.prompt, reference: p.reference ?? '' })),
          groupSize: options.groupSize,
          sampling: { maxNewTokens: options.maxNewTokens, temperature: options.temperature ?? 1, topK: options.topK ?? 0, topP: options.topP ?? 1, seed: options.seed % 2 ** 32, stop: [] },
          verifierJson: verifier,
        },
        new Metadata(),
        { deadline: new Date(Date.now() + CALL_MS) },
        (e: ServiceError | null, r) => (e ? reject(rpcError(`rollout GenerateGroups (batch ${step})`, e)) : resolve(r)),
      ),
    );
    const rollouts: Rollout[] = [];
    const rewards: number[] = [];
    res.groups.forEach((g, p) => {
      if (g.completions.length !== options.groupSize) throw new Error(`rollout returned ${g.completions.length} completions for a prompt, asked for ${options.groupSize}`);
      for (const c of g.completions) {
        rollouts.push({ promptIndex: p, promptIds: promptIds[p], tokens: c.tokenIds, text: c.text, logprobs: c.tokenLogprobs, finishReason: finishOf(c.finishReason) });
        rewards.push(c.reward);
      }
    });
    last = { sync_seconds: (t1 - t0) / 1000, rollout_seconds: (performance.now() - t1) / 1000 };
    return { rollouts, rewards };
  };

  return {
    sample,
    timings: () => last,
    async close() {
      try {
        if (pushed) await remove(pushed);
      } finally {
        rollout.close();
      }
    },
  };
}
