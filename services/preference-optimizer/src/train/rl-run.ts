// The RL job's training (GRPO with a verifier, PPO with a reward model) through @tuneloop/rl, in the job's own
// worker thread: generation runs here on the job's policy, which changes every batch (best-of-N, whose policy is
// fixed while it samples, goes through the rollout service instead: best-of-n-pipeline.ts).
// Progress per generation batch with TRL names (reward, pass_rate, kl, clip_ratio, ...); checkpoints hold the
// trainable weights and the optimizer's moments (PPO: with its value head and KL coefficient). Resume restores them
// and runs the remaining batches exactly as the first attempt would have (prompt order and sampling seeds replayed
// from the step).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadModel } from '@tuneloop/files';
import { readCheckpoint, writeCheckpoint, type JobThreadInput, type JobThreadPost } from '@tuneloop/jobs';
import { restoreWeights, weightsOf } from './weights.ts';
import { parseSafetensors, RewardModel, REWARD_HEAD_NAME, tensorFromRaw, type CausalLM, type Tokenizer } from '@tuneloop/model';
import { packSequences, TrainingDivergedError } from '@tuneloop/objectives';
import { greedyPassAt1, PolicyOptimizer, ppoOptimizer, ppoValueHead, resolveGrpoConfig, trainGrpo, trainPpo, type RlPrompt } from '@tuneloop/rl';
import { createVerifier, type Verifier } from '@tuneloop/verifiers';
import type { OptimizeJobSpec } from '../job-spec.ts';
import { withStoreRetry } from '@tuneloop/jobs';
import { rolloutSampler, type RolloutSampler } from './rollout-sampler.ts';
import { readPrompts, resolveRewardModel, REWARD_HEAD_FILE } from '../prepare.ts';
import type { PolicyCtx } from './preference-run.ts';

export interface RlOutcome {
  totalSteps: number;
  metrics: Record<string, number>;
  losses: { step: number; loss: number }[];
}

function finite(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(m).filter(([, v]) => Number.isFinite(v)));
}

/** Loads a reward-model folder: the trunk (Hugging Face folder) + `score.weight` from score.safetensors. */
export async function loadRewardModel(dir: string): Promise<{ rm: RewardModel; trunk: CausalLM; tokenizer: Tokenizer }> {
  const loaded = await loadModel(dir);
  if (!loaded.tokenizer) throw new Error(`${dir}: the reward model has no tokenizer.json`);
  const raw = parseSafetensors(new Uint8Array(await readFile(path.join(dir, REWARD_HEAD_FILE)))).tensors.get(REWARD_HEAD_NAME);
  if (!raw) throw new Error(`${dir}/${REWARD_HEAD_FILE}: no '${REWARD_HEAD_NAME}' tensor`);
  const head = tensorFromRaw(raw);
  const rm = new RewardModel(loaded.model, { head });
  head.dispose();
  return { rm, trunk: loaded.model, tokenizer: loaded.tokenizer };
}

/** Reward-model scores of (prompt, completion) pairs at the last token of `<bos> prompt completion <eos>` (an empty completion is scored too). */
function rmScorer(rm: RewardModel, tok: Tokenizer) {
  const enc = (s: string) => (s === '' ? [] : tok.encode(s, { addSpecialTokens: false }));
  return (prompts: string[], completions: string[]): number[] => {
    const seqs = prompts.map((p, i) => [...(tok.bosTokenId === undefined ? [] : [tok.bosTokenId]), ...enc(p), ...enc(completions[i]), ...(tok.eosTokenId === undefined ? [] : [tok.eosTokenId])]);
    const out: number[] = [];
    for (let i = 0; i < seqs.length; i += 32) {
      const s = tf.tidy(() => rm.scores(packSequences(seqs.slice(i, i + 32), tok.padTokenId ?? 0)));
      out.push(...s.dataSync());
      s.dispose();
    }
    return out;
  };
}

/** The job's verifier; a reward_model verifier scores each group with the reward model `rm` loaded in this thread (no Score RPC round trip). */
export function jobVerifier(spec: OptimizeJobSpec, rm?: { rm: RewardModel; tokenizer: Tokenizer }): Verifier {
  const rmScore = rm ? rmScorer(rm.rm, rm.tokenizer) : undefined;
  return createVerifier(spec.verifier as { type: string }, rmScore ? { score: async (prompt, completions) => rmScore(completions.map(() => prompt), completions) } : {});
}

/** The checkpoint name of PPO's value head (not a policy tensor, so it cannot clash with one). */
const PPO_VALUE_HEAD = 'ppo.value_head.weight';

export async function runRlJob(input: JobThreadInput<OptimizeJobSpec>, post: JobThreadPost, p: PolicyCtx, reference?: CausalLM): Promise<RlOutcome> {
  const { spec, home, jobId } = input;
  const t = spec.training;
  const totalSteps = t.maxSteps;
  const storeTarget = () => process.env.TUNELOOP_MODEL_STORE_ADDR || spec.storeTarget;
  const prompts: RlPrompt[] = (await readPrompts(home, spec.dataset.uri, 'spec.dataset.uri')).map(({ prompt, reference: r }) => ({ prompt, reference: r }));
  const evalPrompts = spec.evalDataset ? (await readPrompts(home, spec.evalDataset.uri, 'options.eval_dataset.uri')).map(({ prompt, reference: r }) => ({ prompt, reference: r })) : [];
  const named = p.pm.namedTrainable();
  const vars = [...named.values()];
  const losses: { step: number; loss: number }[] = [];
  let start = 0;
  // The optimizer (and PPO's value head and KL coefficient) live here so that checkpoints carry them: a resumed GRPO
  // or PPO job continues exactly (the trainers replay prompt order and sampling seeds from the step)
  const grpoConfig = spec.objective === 'grpo' ? { ...spec.grpo, steps: totalSteps, promptsPerStep: t.batchSize, lr: t.lr, weightDecay: t.weightDecay, clipNorm: t.maxGradNorm, seed: t.seed } : undefined;
  const ppoConfig = spec.objective === 'ppo' ? { ...spec.ppo, steps: totalSteps, promptsPerStep: t.batchSize, lr: t.lr, seed: t.seed } : undefined;
  const valueHead = ppoConfig ? ppoValueHead(p.model, t.seed) : undefined;
  const opt = grpoConfig ? new PolicyOptimizer(vars, resolveGrpoConfig(grpoConfig)) : ppoConfig && valueHead ? ppoOptimizer(vars, valueHead, ppoConfig) : undefined;
  // checkpointed tensors: the policy's trainable ones, plus PPO's value head
  const ckNamed = valueHead ? new Map([...named, [PPO_VALUE_HEAD, valueHead.head as tf.Variable]]) : named;
  let klCoef: number | undefined;
  const ck = await readCheckpoint<{ jobId: string; totalSteps: number; losses: typeof losses; klCoef?: number }>(input.checkpointDir);
  if (ck) {
    if (ck.meta.totalSteps !== totalSteps) throw new Error(`checkpoint ${input.checkpointDir}: was written for ${ck.meta.totalSteps} steps, this job has ${totalSteps}`);
    restoreWeights(ckNamed, ck.state.weights);
    opt?.setState(ckNamed, ck.state.optimizer);
    klCoef = ck.meta.klCoef;
    start = ck.state.step;
    losses.push(...ck.meta.losses);
  }
  const save = async (step: number) => {
    await writeCheckpoint(input.checkpointDir, { step, weights: weightsOf(ckNamed), optimizer: opt ? opt.getState(ckNamed) : { step: 0, moments: new Map() } }, { jobId, totalSteps, losses, ...(klCoef === undefined ? {} : { klCoef }) });
    post({ type: 'checkpoint', step });
  };
  const maxNew = spec.grpo?.maxNewTokens ?? spec.ppo?.maxNewTokens ?? 8;
  const passThreshold = spec.grpo?.passThreshold ?? 1;
  let rm: Awaited<ReturnType<typeof loadRewardModel>> | undefined;
  let sampler: RolloutSampler | undefined;
  try {
    const rmRef = spec.ppo?.rewardModel ?? spec.verifierRewardModel;
    if (rmRef) rm = await loadRewardModel(await withStoreRetry(() => resolveRewardModel(home, rmRef, storeTarget)));
    const verifier = spec.verifier ? jobVerifier(spec, rm) : undefined;
    const evalNow = async (): Promise<Record<string, number>> => {
      if (evalPrompts.length === 0) return {};
      p.pm.setTraining(false);
      try {
        if (verifier) {
          const r = await greedyPassAt1(p.model, p.tokenizer, evalPrompts, verifier, { maxNewTokens: maxNew, passThreshold });
          return { eval_pass_at_1: r.passAt1, eval_reward: r.meanScore };
        }
        return {};
      } finally {
        p.pm.setTraining(true);
      }
    };
    const report = p.pm.parameterReport();
    const before = start === 0 ? await evalNow() : {};
    post({ type: 'ready', totalSteps, resumedFrom: start, metrics: { trainable_params: report.trainable, all_params: report.total, train_prompts: prompts.length, eval_prompts: evalPrompts.length, ...before } });
    p.pm.setTraining(true);
    let last: Record<string, number> = {};
    let done = start;
    const step = async (metrics: Record<string, number>) => {
      done++;
      losses.push({ step: done, loss: metrics.loss });
      const ev = done === totalSteps ? await evalNow() : {};
      last = finite({ ...metrics, learning_rate: t.lr, ...ev });
      post({ type: 'step', step: done, totalSteps, loss: metrics.loss, lr: t.lr, metrics: last });
      if (spec.checkpointEvery > 0 && done % spec.checkpointEvery === 0 && done < totalSteps) await save(done);
    };
    try {
      if (grpoConfig && opt) {
        // options.rollout "service": every batch sampled on the rollout workers, the adapter synced through the store
        const rolloutTarget = process.env.TUNELOOP_ROLLOUT_ADDR || spec.rolloutTarget;
        if (spec.rollout === 'service' && (!rolloutTarget || !storeTarget())) throw new Error('options.rollout "service" needs the rollout service and the model store (TUNELOOP_ROLLOUT_ADDR, TUNELOOP_MODEL_STORE_ADDR)');
        sampler = spec.rollout === 'service' ? rolloutSampler({ jobId, jobDir: path.dirname(input.checkpointDir), pm: p.pm, spec, storeTarget: storeTarget()!, rolloutTarget: rolloutTarget! }) : undefined;
        await trainGrpo({
          model: p.model, variables: vars, tokenizer: p.tokenizer, prompts, verifier: verifier!, reference,
          config: grpoConfig, startStep: start, optimizer: opt, sample: sampler?.sample,
          onStep: (m) => step({ ...m.metrics, step_seconds: m.seconds, ...(sampler ? sampler.timings() : {}) }),
        });
      } else if (ppoConfig && valueHead && opt) {
        const score = rmScorer(rm!.rm, rm!.tokenizer);
        await trainPpo({
          model: p.model, variables: vars, tokenizer: p.tokenizer, prompts, score,
          config: ppoConfig, startStep: start, valueHead, optimizer: opt, klCoef,
          onStep: (m) => {
            klCoef = m.nextKlCoef;
            return step({ ...m.metrics, reward: m.metrics.score, clip_ratio: m.metrics['policy/clipfrac_avg'] });
          },
        });
      } else {
        throw new Error(`runRlJob: ${spec.objective} is not a trainer objective (best-of-N runs as a pipeline: best-of-n-pipeline.ts)`);
      }
    } catch (e) {
      // the optimizer counts its own steps (several per batch); report the batch
      if (e instanceof TrainingDivergedError) {
        if (done > start) await save(done);
        throw new TrainingDivergedError(done, e.reason);
      }
      throw e;
    }
    p.pm.setTraining(false);
    return { totalSteps, metrics: last, losses };
  } finally {
    // the last synced adapter version; a store outage here leaves it (listed as <jobId>-policy) but fails nothing
    await sampler?.close().catch((e: Error) => post({ type: 'log', message: `could not delete the last synced policy adapter: ${e.message}` }));
    opt?.dispose();
    valueHead?.dispose();
    if (rm) {
      rm.rm.dispose();
      rm.trunk.dispose();
    }
  }
}
