// Preference optimization of a causal LM policy: DPO (sigmoid / hinge / ipo / robust), ORPO, SimPO and KTO
// from @tuneloop/objectives, with reference log-probs computed once per example (adapters disabled) and
// cached, TRL-named metrics per step, and the held-out evaluation (implicit-reward accuracy, win rate).
import * as tf from '@tensorflow/tfjs-core';
import { batchSampler, createRng } from '@tuneloop/engine';
import { buildLogprobBatch, sequenceLogprobs, type CausalLM, type Tokenizer } from '@tuneloop/model';
import { dpoLoss } from '../dpo/index.ts';
import { orpoLoss } from '../orpo/index.ts';
import { simpoLoss } from '../simpo/index.ts';
import { ktoLoss } from '../kto/index.ts';
import { ObjectiveInputError } from '../util/errors.ts';
import { encodePairs, encodeUnpaired, type EncodedPair, type EncodedUnpaired, type PreferenceExample, type UnpairedExample } from './encode.ts';
import { referenceLogps, sequenceLogpSums, withAdaptersDisabled } from './reference.ts';
import { resolvePreferenceConfig, type PreferenceTrainConfig, type ResolvedPreferenceConfig } from './preference-config.ts';
import { runSteps, type StepMetrics } from './step-loop.ts';

export interface PreferenceRun {
  model: CausalLM; // the policy (adapters installed with setLinear, or full weights)
  variables: tf.Variable[]; // what trains
  tokenizer: Tokenizer;
  pairs?: PreferenceExample[]; // dpo / ipo / orpo / simpo (and kto, unpaired automatically)
  unpaired?: UnpairedExample[]; // kto
  config: PreferenceTrainConfig;
  onStep?: (m: StepMetrics) => void | boolean | Promise<void | boolean>;
}

export interface PreparedRun {
  config: ResolvedPreferenceConfig;
  pairs: EncodedPair[];
  unpaired: EncodedUnpaired[];
  /** Reference sums, computed once: per pair (chosen, rejected) or per kto example (own, mismatched). */
  ref: { a: Float32Array; b: Float32Array };
  klPartner: number[]; // kto: the example whose completion is paired with example i's prompt for the KL estimate
}

/** Validates the config and data, encodes it and caches the reference log-probs (no training yet). */
export function preparePreferenceRun(run: Omit<PreferenceRun, 'variables' | 'onStep'>): PreparedRun {
  const config = resolvePreferenceConfig(run.config);
  const tok = run.tokenizer;
  const pad = tok.padTokenId ?? 0;
  if (config.method === 'kto') {
    const src = run.unpaired ?? run.pairs?.flatMap((p) => [
      { prompt: p.prompt, completion: p.chosen, label: true },
      { prompt: p.prompt, completion: p.rejected, label: false },
    ]);
    if (!src) throw new ObjectiveInputError('unpaired', 'kto needs unpaired examples (or pairs to unpair)');
    if (run.pairs) encodePairs(tok, run.pairs, { maxLength: config.maxLength }); // same checks as the paired methods
    const unpaired = encodeUnpaired(tok, src, { maxLength: config.maxLength });
    const perm = createRng(config.seed + 7).shuffle(unpaired.map((_, i) => i));
    const klPartner = new Array<number>(unpaired.length);
    perm.forEach((idx, k) => {
      klPartner[idx] = perm[(k + 1) % perm.length];
    });
    const ref = withAdaptersDisabled(run.model, () => ({
      a: sequenceLogpSums(run.model, unpaired.map((e) => e.prompt), unpaired.map((e) => e.completion), pad),
      b: sequenceLogpSums(run.model, unpaired.map((e) => e.prompt), unpaired.map((_, i) => unpaired[klPartner[i]].completion), pad),
    }));
    return { config, pairs: [], unpaired, ref, klPartner };
  }
  if (!run.pairs) throw new ObjectiveInputError('pairs', `${config.method} needs preference pairs`);
  const pairs = encodePairs(tok, run.pairs, { maxLength: config.maxLength });
  const needsRef = config.method === 'dpo' || config.method === 'ipo';
  const r = needsRef ? referenceLogps(run.model, pairs, pad) : { chosen: new Float32Array(pairs.length), rejected: new Float32Array(pairs.length) };
  return { config, pairs, unpaired: [], ref: { a: r.chosen, b: r.rejected }, klPartner: [] };
}

/** Per-token log-probs of [first..., second...] completions in one forward: two [B, T] halves and masks. */
export function twoSided(model: CausalLM, prompts: number[][], first: number[][], second: number[][], pad: number) {
  const batch = buildLogprobBatch([...prompts, ...prompts], [...first, ...second], pad);
  const { logprobs, mask } = sequenceLogprobs(model, batch);
  const [l1, l2] = tf.split(logprobs, 2, 0);
  const [m1, m2] = tf.split(mask, 2, 0);
  return { l1, l2, m1, m2 };
}

/**
 * One batch of encoded examples: prompts with two completions each, (chosen, rejected) for a pair or (own,
 * mismatched) for a KTO example with its label, and the cached reference sums of both sides.
 */
export interface PreferenceBatch {
  prompts: number[][];
  first: number[][];
  second: number[][];
  labels?: boolean[]; // kto
  refFirst: number[];
  refSecond: number[];
}

/** Loss and TRL-named metric tensors of one batch, from one policy forward (call inside a gradient scope or tf.tidy). */
export function preferenceBatchLoss(model: CausalLM, c: ResolvedPreferenceConfig, b: PreferenceBatch, pad: number): { loss: tf.Scalar; metrics: Record<string, tf.Tensor> } {
  const { l1, l2, m1, m2 } = twoSided(model, b.prompts, b.first, b.second, pad);
  if (c.method === 'kto') {
    if (!b.labels) throw new ObjectiveInputError('labels', 'kto needs a label per example');
    const out = ktoLoss({
      labels: b.labels, policyLogps: l1, mask: m1, refLogps: tf.tensor1d(b.refFirst),
      klPolicyLogps: l2, klMask: m2, klRefLogps: tf.tensor1d(b.refSecond), beta: c.beta,
      desirableWeight: c.desirableWeight, undesirableWeight: c.undesirableWeight,
    });
    return { loss: out.loss, metrics: { kl: out.kl, 'rewards/chosen': out.chosenRewards, 'rewards/rejected': out.rejectedRewards, 'logps/chosen': out.chosenLogps, 'logps/rejected': out.rejectedLogps } };
  }
  const pol = { policyChosenLogps: l1, policyRejectedLogps: l2, chosenMask: m1, rejectedMask: m2 };
  const out =
    c.method === 'orpo'
      ? orpoLoss({ ...pol, beta: c.beta })
      : c.method === 'simpo'
        ? simpoLoss({ ...pol, beta: c.beta, gamma: c.gamma, cpoAlpha: c.cpoAlpha, labelSmoothing: c.labelSmoothing })
        : dpoLoss({ ...pol, refChosenLogps: tf.tensor1d(b.refFirst), refRejectedLogps: tf.tensor1d(b.refSecond), beta: c.beta, lossType: c.lossType, labelSmoothing: c.labelSmoothing });
  const metrics: Record<string, tf.Tensor> = {
    'rewards/chosen': out.chosenRewards,
    'rewards/rejected': out.rejectedRewards,
    // TRL's rewards/accuracies: chosen reward > rejected reward (ORPO / SimPO on their own rewards)
    'rewards/accuracies': (out as { rewardAccuracy?: tf.Tensor }).rewardAccuracy ?? tf.cast(tf.greater(out.chosenRewards, out.rejectedRewards), 'float32'),
    'rewards/margins': tf.sub(out.chosenRewards, out.rejectedRewards),
    'logps/chosen': out.chosenLogps,
    'logps/rejected': out.rejectedLogps,
  };
  if ('nllLoss' in out) metrics.nll_loss = out.nllLoss;
  return { loss: out.loss, metrics };
}

/** Runs the training steps on a prepared run; throws TrainingDivergedError on a non-finite loss. */
export async function trainPreference(run: PreferenceRun, prepared = preparePreferenceRun(run)): Promise<StepMetrics[]> {
  const { config: c, pairs, unpaired, ref, klPartner } = prepared;
  const pad = run.tokenizer.padTokenId ?? 0;
  const nextIdx = batchSampler(createRng(c.seed), c.method === 'kto' ? unpaired.length : pairs.length, c.batchSize);
  const lossAt = () => {
    const idx = nextIdx();
    const sides =
      c.method === 'kto'
        ? { prompts: idx.map((i) => unpaired[i].prompt), first: idx.map((i) => unpaired[i].completion), second: idx.map((i) => unpaired[klPartner[i]].completion), labels: idx.map((i) => unpaired[i].label) }
        : { prompts: idx.map((i) => pairs[i].prompt), first: idx.map((i) => pairs[i].chosen), second: idx.map((i) => pairs[i].rejected) };
    return preferenceBatchLoss(run.model, c, { ...sides, refFirst: idx.map((i) => ref.a[i]), refSecond: idx.map((i) => ref.b[i]) }, pad);
  };
  return runSteps(run.variables, lossAt, { steps: c.steps, lr: c.lr, weightDecay: c.weightDecay }, run.onStep);
}

/** Held-out figures of a policy on ground-truth-ordered pairs (chosen = better). */
export interface PolicyEval {
  rewardAccuracy: number; // TRL: fraction with implicit reward(chosen) > implicit reward(rejected), strict
  rewardAccuracyTiesHalf: number; // the same, a tie counting 1/2 (the untrained policy scores 0.5)
  winRate: number; // fraction where the policy's summed log-prob of chosen > rejected (a tie counts 1/2)
  winRateNorm: number; // the same with per-token mean log-probs (length-normalised, as lm-eval's acc_norm)
  meanRewardMargin: number; // beta * mean of the log-ratio difference
  count: number;
}

/** Reference sums of eval pairs, cached once (adapters disabled); pass to evaluatePolicy. */
export function evalReference(model: CausalLM, tok: Tokenizer, pairs: PreferenceExample[]) {
  const enc = encodePairs(tok, pairs, { field: 'evalPairs' });
  return { enc, ref: referenceLogps(model, enc, tok.padTokenId ?? 0) };
}

export function evaluatePolicy(model: CausalLM, tok: Tokenizer, cached: ReturnType<typeof evalReference>, beta: number): PolicyEval {
  const { enc, ref } = cached;
  const pad = tok.padTokenId ?? 0;
  const c = sequenceLogpSums(model, enc.map((p) => p.prompt), enc.map((p) => p.chosen), pad);
  const r = sequenceLogpSums(model, enc.map((p) => p.prompt), enc.map((p) => p.rejected), pad);
  let acc = 0;
  let accHalf = 0;
  let win = 0;
  let margin = 0;
  let winNorm = 0;
  for (let i = 0; i < enc.length; i++) {
    const m = beta * (c[i] - ref.chosen[i] - (r[i] - ref.rejected[i]));
    margin += m;
    if (m > 1e-6) {
      acc++;
      accHalf++;
    } else if (Math.abs(m) <= 1e-6) accHalf += 0.5;
    win += c[i] > r[i] ? 1 : c[i] === r[i] ? 0.5 : 0;
    const cn = c[i] / enc[i].chosen.length;
    const rn = r[i] / enc[i].rejected.length;
    winNorm += cn > rn ? 1 : cn === rn ? 0.5 : 0;
  }
  const k = enc.length;
  return { rewardAccuracy: acc / k, rewardAccuracyTiesHalf: accHalf / k, winRate: win / k, winRateNorm: winNorm / k, meanRewardMargin: margin / k, count: k };
}
