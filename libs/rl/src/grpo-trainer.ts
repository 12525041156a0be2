// GRPO training of a causal LM policy with a verifier (Shao et al. 2024, DeepSeekMath Sec. 4; TRL GRPOTrainer):
// per generation batch, sample G completions for each of P prompts, score them, group-relative advantages,
// keep the sampling policy's per-token log-probs (old) and the reference's, then numIterations clipped
// policy-ratio steps on the batch. Metrics per batch use TRL's names (reward, reward_std, kl, clip_ratio).
import * as tf from '@tensorflow/tfjs-core';
import { batchSampler, createRng } from '@tuneloop/engine';
import { buildLogprobBatch, sequenceLogprobs, type CausalLM, type Tokenizer } from '@tuneloop/model';
import { grpoAdvantages, grpoLoss, maskTruncatedCompletions } from '@tuneloop/objectives';
import { createVerifier, type Verifier, type VerifierSpec } from '@tuneloop/verifiers';
import { resolveGrpoConfig, type GrpoConfig, type ResolvedGrpoConfig } from './grpo-config.ts';
import { RlInputError } from './errors.ts';
import { PolicyOptimizer } from './optimizer.ts';
import { encodePrompts, type RlPrompt } from './prompts.ts';
import { referenceLogprobs, requireReference } from './reference.ts';
import { sampleGroups, scoreRollouts, type Rollout, type SampleOptions } from './sample-groups.ts';

export interface GrpoRun {
  model: CausalLM; // the policy: LoRA-family adapters installed (reference = adapters disabled) or full weights
  variables: tf.Variable[]; // what trains
  tokenizer: Tokenizer;
  prompts: RlPrompt[]; // training prompts with references
  verifier: Verifier | VerifierSpec; // a built verifier or a spec for createVerifier
  config: GrpoConfig;
  /** A frozen reference policy; default: `model` with its adapters disabled. */
  reference?: CausalLM;
  /** Called after each generation batch; return false to stop (cancel). */
  onStep?: (m: GrpoStepMetrics) => void | boolean | Promise<void | boolean>;
  /**
   * Resume: generation batches already done (0-based index of the first one to run; `config.steps` stays the
   * total). The prompt order of the skipped batches is replayed and sampling seeds follow the batch index, so with
   * the weights and `optimizer` state of that point the run continues exactly as if uninterrupted.
   */
  startStep?: number;
  /** A caller-owned optimizer (e.g. restored with setState); not disposed here. Default: a fresh one. */
  optimizer?: PolicyOptimizer;
  /**
   * Where a generation batch is sampled. Default: `sampleGroups` on `model` in this thread. A remote sampler (the
   * rollout service) gets the batch's prompts, their token ids (the rollouts must carry these ids) and the
   * sampling options with the batch's seed, and may return the verifier's rewards too (else they are scored here).
   * The old log-probs are recomputed here from the tokens either way.
   */
  sample?: GroupSampler;
}

export type GroupSampler = (batch: { step: number; prompts: RlPrompt[]; promptIds: number[][]; options: SampleOptions }) => Promise<{ rollouts: Rollout[]; rewards?: number[] }>;

export interface GrpoStepMetrics {
  step: number; // generation batch, 0-based
  metrics: {
    reward: number; // mean verifier reward of the batch's completions
    reward_std: number; // mean within-group std of the rewards
    pass_rate: number; // fraction of completions with reward >= passThreshold
    frac_reward_zero_std: number; // groups whose rewards are all equal (no learning signal)
    kl: number; // k3 KL(policy || reference), token mean, averaged over the iterations
    clip_ratio: number; // fraction of clipped tokens, averaged over the iterations
    loss: number; // mean over the iterations
    grad_norm: number;
    completion_length: number; // mean generated tokens
  };
  seconds: number;
}

function isVerifier(v: unknown): v is Verifier {
  return typeof v === 'object' && v !== null && typeof (v as Verifier).scoreGroup === 'function';
}

/** Validates the run (config, verifier, prompts vs context length) before any work. */
export function prepareGrpo(run: GrpoRun): { config: ResolvedGrpoConfig; verifier: Verifier; promptIds: number[][] } {
  const config = resolveGrpoConfig(run.config);
  const verifier = isVerifier(run.verifier) ? run.verifier : createVerifier(run.verifier);
  const promptIds = encodePrompts(run.tokenizer, run.model.config, run.prompts, config.maxNewTokens);
  if (config.beta > 0) requireReference(run.model, run.reference, `beta ${config.beta} > 0 adds a KL term to the reference`);
  return { config, verifier, promptIds };
}

/** Per-token log-probs of the rollouts under `model`, no gradient: [B, T] as numbers, with the batch layout. */
function rolloutBatch(rollouts: Rollout[], pad: number) {
  return buildLogprobBatch(rollouts.map((r) => r.promptIds), rollouts.map((r) => r.tokens), pad);
}

export async function trainGrpo(run: GrpoRun): Promise<GrpoStepMetrics[]> {
  const { config: c, verifier, promptIds } = prepareGrpo(run);
  const { model, tokenizer: tok } = run;
  const pad = tok.padTokenId ?? 0;
  const start = run.startStep ?? 0;
  if (!Number.isInteger(start) || start < 0 || start > c.steps) throw new RlInputError('startStep', `must be an integer in 0..${c.steps}, got ${run.startStep}`);
  const opt = run.optimizer ?? new PolicyOptimizer(run.variables, c);
  const history: GrpoStepMetrics[] = [];
  const nextPrompts = batchSampler(createRng(c.seed), promptIds.length, c.promptsPerStep);
  for (let step = 0; step < start; step++) nextPrompts(); // the skipped batches' draws
  try {
    for (let step = start; step < c.steps; step++) {
      const started = performance.now();
      const idx = nextPrompts();
      const batchPrompts = idx.map((i) => run.prompts[i]);
      const ids = idx.map((i) => promptIds[i]);
      const options: SampleOptions = { groupSize: c.groupSize, maxNewTokens: c.maxNewTokens, temperature: c.temperature, topK: c.topK, topP: c.topP, seed: c.seed * 1_000_003 + step * 10_007 };
      const sampled = run.sample ? await run.sample({ step, prompts: batchPrompts, promptIds: ids, options }) : { rollouts: sampleGroups(model, tok, ids, options) };
      const rollouts = sampled.rollouts;
      if (rollouts.length !== ids.length * c.groupSize) throw new Error(`sampler returned ${rollouts.length} rollouts, expected ${ids.length} prompts x ${c.groupSize}`);
      const rewards = sampled.rewards ?? (await scoreRollouts(verifier, batchPrompts, rollouts, c.groupSize));
      const batch = rolloutBatch(rollouts, pad);
      const truncated = rollouts.map((r) => r.finishReason === 'length');
      const held = tf.tidy(() => {
        const old = sequenceLogprobs(model, batch);
        const ref = referenceLogprobs(model, run.reference, batch);
        const mask = c.maskTruncatedCompletions ? maskTruncatedCompletions(old.mask, truncated) : old.mask;
        return { old: old.logprobs, ref, mask, adv: grpoAdvantages({ rewards, groupSize: c.groupSize, scaleRewards: c.scaleRewards }) };
      });
      const sums = { loss: 0, kl: 0, clip: 0, grad: 0 };
      // Every group tied and no KL term: the loss and its gradient are exactly 0, and an AdamW step would only
      // move the weights along stale momentum, so the batch is logged and skipped.
      const noSignal = c.beta === 0 && rewards.every((r, i) => r === rewards[i - (i % c.groupSize)]);
      try {
        if (noSignal) sums.kl = tf.tidy(() => grpoLoss({ advantages: held.adv, logps: held.old, refLogps: held.ref, mask: held.mask, lossType: c.lossType }).kl.dataSync()[0]);
        for (let it = 0; it < (noSignal ? 0 : c.numIterations); it++) {
          const r = opt.step(() => {
            const { logprobs } = sequenceLogprobs(model, batch);
            const out = grpoLoss({
              advantages: held.adv, logps: logprobs, oldLogps: held.old, refLogps: held.ref, mask: held.mask, beta: c.beta,
              epsilonLow: c.epsilonLow, epsilonHigh: c.epsilonHigh, lossType: c.lossType, maxCompletionLength: c.maxNewTokens,
            });
            return { loss: out.loss, metrics: { kl: out.kl, clip_ratio: out.clipRatio } };
          });
          sums.loss += r.loss;
          sums.kl += r.metrics.kl;
          sums.clip += r.metrics.clip_ratio;
          sums.grad += r.gradNorm;
        }
      } finally {
        tf.dispose([held.old, held.ref, held.mask, held.adv]);
      }
      const k = Math.max(1, noSignal ? 0 : c.numIterations);
      const groups = rewards.length / c.groupSize;
      let stdSum = 0;
      let zeroStd = 0;
      for (let g = 0; g < groups; g++) {
        const rs = rewards.slice(g * c.groupSize, (g + 1) * c.groupSize);
        const mean = rs.reduce((a, b) => a + b, 0) / rs.length;
        const sd = Math.sqrt(rs.reduce((a, b) => a + (b - mean) ** 2, 0) / (rs.length - 1));
        stdSum += sd;
        if (rs.every((x) => x === rs[0])) zeroStd++;
      }
      const m: GrpoStepMetrics = {
        step,
        metrics: {
          reward: rewards.reduce((a, b) => a + b, 0) / rewards.length,
          reward_std: stdSum / groups,
          pass_rate: rewards.filter((x) => x >= c.passThreshold).length / rewards.length,
          frac_reward_zero_std: zeroStd / groups,
          kl: sums.kl / k,
          clip_ratio: sums.clip / k,
          loss: sums.loss / k,
          grad_norm: sums.grad / k,
          completion_length: rollouts.reduce((a, r) => a + r.tokens.length, 0) / rollouts.length,
        },
        seconds: (performance.now() - started) / 1000,
      };
      history.push(m);
      if ((await run.onStep?.(m)) === false) break;
    }
  } finally {
    if (!run.optimizer) opt.dispose();
  }
  return history;
}
