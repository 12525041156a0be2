// Trains a reward model (transformer trunk + scalar head) on preference pairs with the Bradley-Terry loss
// (optional per-pair margin, optional reward centering), and evaluates pairwise accuracy. InstructGPT Eq. 1.
import * as tf from '@tensorflow/tfjs-core';
import { batchSampler, createRng, type AdamW } from '@tuneloop/engine';
import type { RewardModel, Tokenizer } from '@tuneloop/model';
import { bradleyTerryLoss } from '../bradley-terry/index.ts';
import { ObjectiveInputError } from '../util/errors.ts';
import { requireInteger, requireNonNegative, requirePositive } from '../util/validate.ts';
import { encodePairs, encodeSequence, type EncodedPair, type PreferenceExample } from './encode.ts';
import { runSteps, type StepMetrics } from './step-loop.ts';

export interface RewardTrainConfig {
  steps: number;
  batchSize: number; // pairs per step
  lr: number;
  seed: number;
  useMargin?: boolean; // subtract each pair's margin in the loss (Llama 2); default false
  centerRewardsCoefficient?: number; // Eisenstein et al. 2023; default 0
  maxLength?: number; // tokens of prompt + response; longer pairs are refused
  weightDecay?: number;
  warmupSteps?: number; // default 10% of steps (runSteps)
  clipNorm?: number; // global-norm clipping, default 1 (runSteps)
  /** resume: first 0-based step to run (the data order of the earlier steps is replayed, so batches match) */
  startStep?: number;
  /** resume: a caller-owned AdamW holding the saved state (AdamW.setState); not disposed here */
  optimizer?: AdamW;
}

export interface RewardEval {
  accuracy: number; // fraction of pairs with score(chosen) > score(rejected)
  meanMargin: number;
  count: number;
}

/** Padded right, one row per sequence: [B, T] ids and mask. */
export function packSequences(seqs: number[][], padId: number): { inputIds: number[][]; attentionMask: number[][] } {
  const t = Math.max(...seqs.map((s) => s.length));
  return {
    inputIds: seqs.map((s) => [...s, ...new Array(t - s.length).fill(padId)]),
    attentionMask: seqs.map((s) => [...new Array(s.length).fill(1), ...new Array(t - s.length).fill(0)]),
  };
}

/** Scores of chosen and rejected of `pairs` in one forward pass: [chosen..., rejected...]. */
function pairScores(rm: RewardModel, pairs: EncodedPair[], padId: number): { chosen: tf.Tensor1D; rejected: tf.Tensor1D } {
  const seqs = [...pairs.map((p) => [...p.prompt, ...p.chosen]), ...pairs.map((p) => [...p.prompt, ...p.rejected])];
  const s = rm.scores(packSequences(seqs, padId));
  const [chosen, rejected] = tf.split(s, 2) as [tf.Tensor1D, tf.Tensor1D];
  return { chosen, rejected };
}

export function validateRewardConfig(cfg: RewardTrainConfig): void {
  requireInteger('steps', cfg.steps, 1);
  requireInteger('batchSize', cfg.batchSize, 1);
  requirePositive('lr', cfg.lr);
  if (cfg.centerRewardsCoefficient !== undefined) requireNonNegative('centerRewardsCoefficient', cfg.centerRewardsCoefficient);
  if (cfg.maxLength !== undefined) requireInteger('maxLength', cfg.maxLength, 2);
  if (!Number.isInteger(cfg.seed)) throw new ObjectiveInputError('seed', `must be an integer, got ${cfg.seed}`);
}

/** Scores text sequences (prompt + response) in batches: one number per response. */
export function scoreResponses(rm: RewardModel, tok: Tokenizer, prompt: string, responses: string[], batchSize = 32): number[] {
  const seqs = responses.map((r, i) => encodeSequence(tok, prompt, r, `responses[${i}]`));
  const out: number[] = [];
  for (let i = 0; i < seqs.length; i += batchSize) {
    const s = tf.tidy(() => rm.scores(packSequences(seqs.slice(i, i + batchSize), tok.padTokenId ?? 0)));
    out.push(...s.dataSync());
    s.dispose();
  }
  return out;
}

/** Pairwise accuracy of the reward model on pairs (chosen should score higher). */
export function evaluateRewardModel(rm: RewardModel, tok: Tokenizer, pairs: PreferenceExample[], batchSize = 32): RewardEval {
  const enc = encodePairs(tok, pairs, { field: 'evalPairs' });
  let right = 0;
  let margin = 0;
  for (let i = 0; i < enc.length; i += batchSize) {
    const { c, r } = tf.tidy(() => {
      const s = pairScores(rm, enc.slice(i, i + batchSize), tok.padTokenId ?? 0);
      return { c: s.chosen.dataSync(), r: s.rejected.dataSync() };
    });
    c.forEach((v, j) => {
      if (v > r[j]) right++;
      margin += v - r[j];
    });
  }
  return { accuracy: right / enc.length, meanMargin: margin / enc.length, count: enc.length };
}

/**
 * Bradley-Terry training of `rm` (its trainable variables: the head plus whatever trains in the trunk).
 * All pairs are checked before the first step. Stops with TrainingDivergedError on a non-finite loss.
 */
export async function trainRewardModel(
  rm: RewardModel,
  tok: Tokenizer,
  pairs: PreferenceExample[],
  cfg: RewardTrainConfig,
  onStep?: (m: StepMetrics) => void | boolean | Promise<void | boolean>,
): Promise<StepMetrics[]> {
  validateRewardConfig(cfg);
  const enc = encodePairs(tok, pairs, { maxLength: cfg.maxLength });
  const nextIdx = batchSampler(createRng(cfg.seed), enc.length, cfg.batchSize);
  const nextBatch = (): EncodedPair[] => nextIdx().map((i) => enc[i]);
  for (let i = 0; i < (cfg.startStep ?? 0); i++) nextBatch(); // the batches of the steps already taken
  const pad = tok.padTokenId ?? 0;
  return runSteps(
    rm.trainableVariables(),
    () => {
      const batch = nextBatch();
      const { chosen, rejected } = pairScores(rm, batch, pad);
      const out = bradleyTerryLoss({
        rewardsChosen: chosen,
        rewardsRejected: rejected,
        margin: cfg.useMargin ? tf.tensor1d(batch.map((p) => p.margin)) : undefined,
        centerRewardsCoefficient: cfg.centerRewardsCoefficient,
      });
      return { loss: out.loss, metrics: { accuracy: out.accuracy, margin: out.meanMargin, 'rewards/chosen': chosen, 'rewards/rejected': rejected } };
    },
    { steps: cfg.steps, lr: cfg.lr, weightDecay: cfg.weightDecay, warmupSteps: cfg.warmupSteps, clipNorm: cfg.clipNorm, startStep: cfg.startStep, optimizer: cfg.optimizer },
    onStep,
  );
}
