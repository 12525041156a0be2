// PPO / RLHF for a causal LM policy (Ziegler et al. 2019; Ouyang et al. 2022; TRL PPOTrainer): per batch,
// sample one completion per prompt, score it with a reward model, per-token reward = score on the last token
// - klCoef * KL(policy || reference) per token, GAE advantages (whitened) and returns, then several epochs of
// clipped policy + clipped value loss. The value head is a separate small head (hidden -> 1, a RewardModel
// head) on the policy trunk, so trunk adapters are shared by policy and value; the reference is the policy
// with its adapters disabled, or a given frozen copy (full fine-tuning). The KL coefficient is fixed or adaptive
// (target, horizon).
import * as tf from '@tensorflow/tfjs-core';
import { batchSampler, createRng } from '@tuneloop/engine';
import { buildLogprobBatch, RewardModel, sequenceLogprobs, type CausalLM, type LogprobBatch, type Tokenizer } from '@tuneloop/model';
import { AdaptiveKlController, FixedKlController, gae, ppoLoss, ppoRewards, whiten, type KlController } from '@tuneloop/objectives';
import { RlInputError } from './errors.ts';
import { PolicyOptimizer } from './optimizer.ts';
import { encodePrompts, type RlPrompt } from './prompts.ts';
import { referenceLogprobs, requireReference } from './reference.ts';
import { sampleGroups } from './sample-groups.ts';

export interface PpoConfig {
  steps: number; // rollout batches
  promptsPerStep?: number; // default 16
  ppoEpochs?: number; // optimizer steps per batch; default 4
  lr?: number; // default 3e-4
  klCoef?: number; // initial (or fixed) KL coefficient; default 0.3 (0.05 let the KL run past a target of 1 nat)
  klTarget?: number; // set (with klHorizon) for the adaptive controller: target summed KL per sequence
  klHorizon?: number; // default 100 when klTarget is set (per batch the coefficient moves by up to 0.2 * P / horizon)
  gamma?: number; // default 1
  lam?: number; // default 0.95
  clipRange?: number; // default 0.2
  clipRangeValue?: number; // default 0.2
  vfCoef?: number; // default 0.1
  maxNewTokens?: number; // default 8
  temperature?: number; // default 1
  seed?: number; // default 0
}

export interface PpoRun {
  model: CausalLM; // the policy with LoRA-family adapters installed
  variables: tf.Variable[]; // the policy's trainable variables (the value head's are added here)
  tokenizer: Tokenizer;
  prompts: RlPrompt[];
  /** Reward-model scores of (prompt, completion) pairs, one per pair. */
  score: (prompts: string[], completions: string[]) => Promise<number[]> | number[];
  config: PpoConfig;
  /** A frozen reference policy; default: `model` with its adapters disabled (required when it has none). */
  reference?: CausalLM;
  onStep?: (m: PpoStepMetrics) => void | boolean | Promise<void | boolean>;
  /**
   * Resume: rollout batches already done (`config.steps` stays the total); the prompt order of the skipped batches
   * is replayed and sampling seeds follow the batch index. For an exact continuation pass also the checkpoint's
   * `valueHead` (caller-owned, on `model`), `optimizer` (over `[...variables, valueHead.head]`, restored with
   * setState) and `klCoef` (the controller's coefficient after the last batch done: `nextKlCoef`).
   */
  startStep?: number;
  valueHead?: RewardModel;
  optimizer?: PolicyOptimizer;
  klCoef?: number;
}

export interface PpoStepMetrics {
  step: number;
  /** the KL controller's coefficient for the next batch (what a checkpoint keeps) */
  nextKlCoef: number;
  metrics: { score: number; kl: number; kl_coef: number; loss: number; 'loss/policy_avg': number; 'loss/value_avg': number; 'policy/clipfrac_avg': number; 'val/clipfrac_avg': number };
}

/** Values [B, T]: the head on the hidden state that predicts token t (position t - 1), 0 at t = 0. */
function valuesOf(head: RewardModel, batch: LogprobBatch): tf.Tensor2D {
  const b = batch.inputIds.length;
  const t = batch.inputIds[0].length;
  const h = head.hidden({ inputIds: batch.inputIds, attentionMask: batch.attentionMask }); // [B*T, d]
  const v = tf.reshape(tf.matMul(h, head.head), [b, t]); // [B, T]
  return tf.concat([tf.zeros([b, 1]), tf.slice(v, [0, 0], [b, t - 1])], 1) as tf.Tensor2D;
}

export async function trainPpo(run: PpoRun): Promise<{ history: PpoStepMetrics[]; valueHead: RewardModel }> {
  const c = run.config;
  const int = (f: string, v: number | undefined, d: number, min: number) => {
    const x = v ?? d;
    if (!Number.isInteger(x) || x < min) throw new RlInputError(f, `must be an integer >= ${min}, got ${x}`);
    return x;
  };
  const steps = int('steps', c.steps, 0, 1);
  const P = int('promptsPerStep', c.promptsPerStep, 16, 1);
  const epochs = int('ppoEpochs', c.ppoEpochs, 4, 1);
  const maxNew = int('maxNewTokens', c.maxNewTokens, 8, 1);
  if (c.klTarget !== undefined && !(c.klTarget > 0)) throw new RlInputError('klTarget', `must be > 0, got ${c.klTarget}`);
  const start = run.startStep ?? 0;
  if (!Number.isInteger(start) || start < 0 || start > steps) throw new RlInputError('startStep', `must be an integer in 0..${steps}, got ${run.startStep}`);
  const initKlCoef = run.klCoef ?? c.klCoef ?? 0.3;
  const ctl: KlController = c.klTarget !== undefined
    ? new AdaptiveKlController({ initKlCoef, target: c.klTarget, horizon: c.klHorizon ?? 100 })
    : new FixedKlController(initKlCoef);
  requireReference(run.model, run.reference, 'the per-token KL penalty is to the reference');
  const tok = run.tokenizer;
  const ids = encodePrompts(tok, run.model.config, run.prompts, maxNew);
  const head = run.valueHead ?? ppoValueHead(run.model, c.seed ?? 0);
  const opt = run.optimizer ?? ppoOptimizer(run.variables, head, c);
  const pad = tok.padTokenId ?? 0;
  const history: PpoStepMetrics[] = [];
  const nextIdx = batchSampler(createRng(c.seed ?? 0), ids.length, P);
  for (let step = 0; step < start; step++) nextIdx(); // the skipped batches' draws
  try {
    for (let step = start; step < steps; step++) {
      const idx = nextIdx();
      const rollouts = sampleGroups(run.model, tok, idx.map((i) => ids[i]), { groupSize: 1, maxNewTokens: maxNew, temperature: c.temperature ?? 1, seed: (c.seed ?? 0) * 1_000_003 + step * P });
      const scores = await run.score(idx.map((i) => run.prompts[i].prompt), rollouts.map((r) => r.text));
      const batch = buildLogprobBatch(rollouts.map((r) => r.promptIds), rollouts.map((r) => r.tokens), pad, 'right');
      const held = tf.tidy(() => {
        const old = sequenceLogprobs(run.model, batch);
        const ref = referenceLogprobs(run.model, run.reference, batch);
        const oldValues = tf.mul(valuesOf(head, batch), old.mask);
        const r = ppoRewards({ scores: tf.tensor1d(scores), logps: old.logprobs, refLogps: ref, mask: old.mask, klCoef: ctl.value });
        const g = gae({ rewards: r.rewards, values: oldValues, mask: old.mask, gamma: c.gamma ?? 1, lam: c.lam ?? 0.95 });
        const klPerSeq = tf.mean(tf.sum(r.kl, 1));
        return { old: old.logprobs, mask: old.mask, oldValues, adv: whiten(g.advantages, old.mask), returns: g.returns, kl: klPerSeq };
      });
      const klSeq = held.kl.dataSync()[0];
      const sums = { loss: 0, pg: 0, vf: 0, pgc: 0, vfc: 0 };
      try {
        for (let e = 0; e < epochs; e++) {
          const r = opt.step(() => {
            const { logprobs } = sequenceLogprobs(run.model, batch);
            const values = tf.mul(valuesOf(head, batch), held.mask);
            const out = ppoLoss({
              logps: logprobs, oldLogps: held.old, advantages: held.adv, values, oldValues: held.oldValues, returns: held.returns, mask: held.mask,
              clipRange: c.clipRange ?? 0.2, clipRangeValue: c.clipRangeValue ?? 0.2, vfCoef: c.vfCoef ?? 0.1,
            });
            return { loss: out.loss, metrics: { pg: out.pgLoss, vf: out.vfLoss, pgc: out.pgClipfrac, vfc: out.vfClipfrac } };
          });
          sums.loss += r.loss;
          sums.pg += r.metrics.pg;
          sums.vf += r.metrics.vf;
          sums.pgc += r.metrics.pgc;
          sums.vfc += r.metrics.vfc;
        }
      } finally {
        tf.dispose(Object.values(held));
      }
      const klCoef = ctl.value;
      ctl.update(Math.max(0, klSeq), P);
      const m: PpoStepMetrics = {
        step,
        nextKlCoef: ctl.value,
        metrics: {
          score: scores.reduce((a, b) => a + b, 0) / scores.length, kl: klSeq, kl_coef: klCoef, loss: sums.loss / epochs,
          'loss/policy_avg': sums.pg / epochs, 'loss/value_avg': sums.vf / epochs, 'policy/clipfrac_avg': sums.pgc / epochs, 'val/clipfrac_avg': sums.vfc / epochs,
        },
      };
      history.push(m);
      if ((await run.onStep?.(m)) === false) break;
    }
  } finally {
    if (!run.optimizer) opt.dispose();
  }
  return { history, valueHead: head };
}

/** PPO's value head on the policy trunk (seeded as trainPpo seeds its own), for a caller that checkpoints it. */
export function ppoValueHead(model: CausalLM, seed: number): RewardModel {
  return new RewardModel(model, { seed: seed + 17 });
}

/** The optimizer trainPpo uses (policy variables + the value head), for a caller that checkpoints its state. */
export function ppoOptimizer(variables: tf.Variable[], head: RewardModel, c: Pick<PpoConfig, 'lr'>): PolicyOptimizer {
  return new PolicyOptimizer([...variables, head.head], { lr: c.lr ?? 3e-4, clipNorm: 1, weightDecay: 0 });
}
