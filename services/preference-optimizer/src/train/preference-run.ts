// The preference job's training loop (DPO sigmoid / hinge / robust, IPO, ORPO, SimPO, KTO) with exact resume: the
// losses of @tuneloop/objectives on one policy forward over [chosen..., rejected...], reference sums computed once
// from the starting policy and kept in the job folder (reference.json), batches a pure function of (seed, step),
// @tuneloop/objectives' runSteps (AdamW + warmup/cosine + clipping) resumed at the checkpoint's step with its moments,
// TRL metric names per step and eval_* on a seeded held-out split. A non-finite loss or gradient throws
// TrainingDivergedError before the update, after a checkpoint of the last good step.
import { existsSync } from 'node:fs';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, createRng } from '@tuneloop/engine';
import { readCheckpoint, writeCheckpoint, type JobThreadInput, type JobThreadPost } from '@tuneloop/jobs';
import { restoreWeights, weightsOf } from './weights.ts';
import type { CausalLM, Tokenizer } from '@tuneloop/model';
import {
  encodePairs, encodeUnpaired, preferenceBatchLoss, resolvePreferenceConfig, runSteps, TrainingDivergedError, twoSided,
  type EncodedPair, type EncodedUnpaired, type ResolvedPreferenceConfig,
} from '@tuneloop/objectives';
import type { PeftModel } from '@tuneloop/peft';
import type { OptimizeJobSpec } from '../job-spec.ts';
import { loadPreferenceData, loadPreferenceEval, preferenceConfigOf, preferenceSteps, splitEval, type BaseInfo } from '../prepare.ts';

export interface PolicyCtx {
  model: CausalLM;
  tokenizer: Tokenizer;
  pm: PeftModel;
  base: BaseInfo;
}

interface Encoded {
  kind: 'pairs' | 'unpaired';
  pairs: EncodedPair[];
  unpaired: EncodedUnpaired[];
  klPartner: number[]; // kto: the example whose completion is paired with example i's prompt (KL estimate)
}

interface RefSums {
  a: number[]; // chosen (pairs) or own completion (kto)
  b: number[]; // rejected (pairs) or mismatched completion (kto)
}

const size = (e: Encoded) => (e.kind === 'pairs' ? e.pairs.length : e.unpaired.length);

function encode(tok: Tokenizer, data: Awaited<ReturnType<typeof loadPreferenceData>>, rows: number[], kto: boolean, maxLength: number, seed: number): Encoded {
  let unpaired: EncodedUnpaired[] = [];
  if (data.kind === 'unpaired') unpaired = encodeUnpaired(tok, rows.map((i) => data.unpaired[i]), { maxLength });
  else if (kto) {
    // TRL's unpair_preference_dataset: chosen -> desirable, rejected -> undesirable (after the split: no leak)
    unpaired = encodeUnpaired(tok, rows.flatMap((i) => [
      { prompt: data.pairs[i].prompt, completion: data.pairs[i].chosen, label: true },
      { prompt: data.pairs[i].prompt, completion: data.pairs[i].rejected, label: false },
    ]), { maxLength });
  } else return { kind: 'pairs', pairs: encodePairs(tok, rows.map((i) => data.pairs[i]), { maxLength }), unpaired: [], klPartner: [] };
  // KL partners as preparePreferenceRun: a seeded cyclic shift over a permutation
  const perm = createRng(seed + 7).shuffle(unpaired.map((_, i) => i));
  const klPartner = new Array<number>(unpaired.length);
  perm.forEach((idx, k) => (klPartner[idx] = perm[(k + 1) % perm.length]));
  return { kind: 'unpaired', pairs: [], unpaired, klPartner };
}

/** Prompts and the two completions of examples `idx`: (chosen, rejected) pairs, or (own, mismatched) KTO rows. */
function sides(e: Encoded, idx: number[]): { prompts: number[][]; first: number[][]; second: number[][] } {
  if (e.kind === 'pairs') return { prompts: idx.map((i) => e.pairs[i].prompt), first: idx.map((i) => e.pairs[i].chosen), second: idx.map((i) => e.pairs[i].rejected) };
  const u = e.unpaired;
  return { prompts: idx.map((i) => u[i].prompt), first: idx.map((i) => u[i].completion), second: idx.map((i) => u[e.klPartner[i]].completion) };
}

/**
 * Reference sums of the starting policy (no training yet): what DPO / IPO / KTO compare against. Computed with the
 * same two-sided forward and the same batches as the held-out evaluation, so at step 0 every eval margin is exactly 0.
 */
function referenceSums(model: CausalLM, e: Encoded, pad: number, batchSize: number): RefSums {
  const n = size(e);
  const out: RefSums = { a: new Array<number>(n), b: new Array<number>(n) };
  for (let i = 0; i < n; i += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, n - i) }, (_, j) => i + j);
    const s = sides(e, idx);
    const [a, b] = tf.tidy(() => {
      const { l1, l2 } = twoSided(model, s.prompts, s.first, s.second, pad);
      return [tf.sum(l1, 1), tf.sum(l2, 1)];
    });
    idx.forEach((k, j) => {
      out.a[k] = a.dataSync()[j];
      out.b[k] = b.dataSync()[j];
    });
    tf.dispose([a, b]);
  }
  return out;
}

/** Loss and TRL-named metric tensors of the examples `idx` (call inside a gradient scope or tf.tidy). */
function batchLoss(model: CausalLM, c: ResolvedPreferenceConfig, e: Encoded, ref: RefSums, idx: number[], pad: number): { loss: tf.Scalar; metrics: Record<string, tf.Tensor> } {
  const labels = e.kind === 'unpaired' ? idx.map((i) => e.unpaired[i].label) : undefined;
  return preferenceBatchLoss(model, c, { ...sides(e, idx), labels, refFirst: idx.map((i) => ref.a[i]), refSecond: idx.map((i) => ref.b[i]) }, pad);
}

const mean = (t: tf.Tensor) => (t.size === 0 ? NaN : tf.tidy(() => tf.mean(t).dataSync()[0]));

/** Examples of 0-based step `s`: positions [s*B, (s+1)*B) of the epochs' seeded permutations, so any step's batch is reproducible. */
export function batchIndices(n: number, batchSize: number, seed: number, step: number): number[] {
  const perms = new Map<number, number[]>();
  const out: number[] = [];
  for (let k = step * batchSize; k < (step + 1) * batchSize; k++) {
    const epoch = Math.floor(k / n);
    if (!perms.has(epoch)) perms.set(epoch, createRng((seed * 1_000_003 + epoch * 7919) >>> 0).shuffle(Array.from({ length: n }, (_, i) => i)));
    out.push(perms.get(epoch)![k % n]);
  }
  return out;
}

function finite(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(m).filter(([, v]) => Number.isFinite(v)));
}

export interface PreferenceOutcome {
  totalSteps: number;
  metrics: Record<string, number>;
  losses: { step: number; loss: number }[];
  trainRows: number;
  evalRows: number;
}

export async function runPreferenceJob(input: JobThreadInput<OptimizeJobSpec>, post: JobThreadPost, p: PolicyCtx): Promise<PreferenceOutcome> {
  const { spec, home, jobId } = input;
  const t = spec.training;
  const tok = p.tokenizer;
  const pad = tok.padTokenId ?? tok.eosTokenId ?? 0;
  const maxLength = t.maxLength > 0 ? Math.min(t.maxLength, p.base.config.maxPositionEmbeddings) : p.base.config.maxPositionEmbeddings;
  const data = await loadPreferenceData(home, spec, p.base, 1);
  const n = data.kind === 'pairs' ? data.pairs.length : data.unpaired.length;
  const split = splitEval(Array.from({ length: n }, (_, i) => i), spec.evalFraction, t.seed);
  const totalSteps = preferenceSteps(spec, split.train.length);
  const cfg = resolvePreferenceConfig(preferenceConfigOf(spec, totalSteps));
  const kto = cfg.method === 'kto';
  const train = encode(tok, data, split.train, kto, maxLength, t.seed);
  const evalFile = await loadPreferenceEval(home, spec, p.base);
  const held = evalFile
    ? encode(tok, evalFile, Array.from({ length: evalFile.kind === 'pairs' ? evalFile.pairs.length : evalFile.unpaired.length }, (_, i) => i), kto, maxLength, t.seed + 1)
    : encode(tok, data, split.eval, kto, maxLength, t.seed + 1);
  const needsRef = cfg.method === 'dpo' || cfg.method === 'ipo' || kto;

  // reference sums: computed once from the starting policy, kept beside the checkpoint for every later attempt
  const jobDir = path.dirname(input.checkpointDir);
  const refFile = path.join(jobDir, 'reference.json');
  let refs: { train: RefSums; eval: RefSums };
  const empty = (e: Encoded) => ({ a: new Array<number>(size(e)).fill(0), b: new Array<number>(size(e)).fill(0) });
  if (needsRef && existsSync(refFile)) {
    refs = JSON.parse(await readFile(refFile, 'utf8'));
    if (refs.train.a.length !== size(train) || refs.eval.a.length !== size(held)) throw new Error(`${refFile}: written for other data (${refs.train.a.length} + ${refs.eval.a.length} examples, this job has ${size(train)} + ${size(held)})`);
  } else if (needsRef) {
    p.pm.setTraining(false);
    refs = { train: referenceSums(p.model, train, pad, t.batchSize), eval: referenceSums(p.model, held, pad, t.batchSize) };
    await mkdir(jobDir, { recursive: true });
    await writeFile(refFile, JSON.stringify(refs) + '\n');
  } else refs = { train: empty(train), eval: empty(held) };

  const named = p.pm.namedTrainable();
  const vars = [...named.values()];
  if (vars.length === 0) throw new Error('the policy has no trainable tensors');
  const opt = new AdamW({ weightDecay: t.weightDecay });
  const warmup = t.warmupSteps >= 0 ? t.warmupSteps : Math.floor(totalSteps / 10);
  const losses: { step: number; loss: number }[] = [];
  let start = 0;
  const ck = await readCheckpoint<{ jobId: string; totalSteps: number; losses: { step: number; loss: number }[] }>(input.checkpointDir);
  if (ck) {
    if (ck.meta.totalSteps !== totalSteps) throw new Error(`checkpoint ${input.checkpointDir}: was written for ${ck.meta.totalSteps} steps, this job has ${totalSteps}`);
    restoreWeights(named, ck.state.weights);
    opt.setState(named, ck.state.optimizer);
    start = ck.state.step;
    losses.push(...ck.meta.losses);
  }
  const save = async (step: number) => {
    await writeCheckpoint(input.checkpointDir, { step, weights: weightsOf(named), optimizer: opt.getState(named) }, { jobId, totalSteps, losses });
    post({ type: 'checkpoint', step });
  };
  const evaluate = (): Record<string, number> => {
    const k = size(held);
    if (k === 0) return {};
    p.pm.setTraining(false);
    const sums: Record<string, number> = {};
    for (let i = 0; i < k; i += t.batchSize) {
      const idx = Array.from({ length: Math.min(t.batchSize, k - i) }, (_, j) => i + j);
      const m = tf.tidy(() => {
        const out = batchLoss(p.model, cfg, held, refs.eval, idx, pad);
        const r: Record<string, number> = { loss: out.loss.dataSync()[0] };
        for (const [name, v] of Object.entries(out.metrics)) r[name] = mean(v);
        return r as unknown as tf.TensorContainer;
      }) as unknown as Record<string, number>;
      for (const [name, v] of Object.entries(m)) sums[name] = (sums[name] ?? 0) + v * idx.length;
    }
    p.pm.setTraining(true);
    return finite(Object.fromEntries(Object.entries(sums).map(([name, v]) => [`eval_${name}`, v / k])));
  };

  p.pm.setTraining(true);
  const report = p.pm.parameterReport();
  post({ type: 'ready', totalSteps, resumedFrom: start, metrics: { trainable_params: report.trainable, all_params: report.total, train_rows: size(train), eval_rows: size(held), ...(start === 0 ? evaluate() : {}) } });
  let last: Record<string, number> = {};
  let stepStarted = performance.now();
  try {
    // @tuneloop/objectives' runSteps: AdamW (ours, restored above), warmup + cosine to lr/10, clipping, and the
    // divergence guard (TrainingDivergedError before the update: the weights stay those of the last good step)
    await runSteps(vars, (step) => batchLoss(p.model, cfg, train, refs.train, batchIndices(size(train), t.batchSize, t.seed, step), pad), {
      steps: totalSteps, lr: t.lr, warmupSteps: warmup, clipNorm: t.maxGradNorm, weightDecay: t.weightDecay, startStep: start, optimizer: opt,
    }, async (m) => {
      const done = m.step + 1;
      losses.push({ step: done, loss: m.metrics.loss });
      const ev = (spec.evalEvery > 0 && done % spec.evalEvery === 0) || done === totalSteps ? evaluate() : {};
      last = finite({ ...m.metrics, learning_rate: m.lr, grad_norm: m.gradNorm, ...ev, step_seconds: (performance.now() - stepStarted) / 1000 });
      post({ type: 'step', step: done, totalSteps, loss: m.metrics.loss, lr: m.lr, metrics: last });
      if (spec.checkpointEvery > 0 && done % spec.checkpointEvery === 0 && done < totalSteps) await save(done);
      stepStarted = performance.now();
    });
  } catch (e) {
    // keep the last good step as the checkpoint (the weights were not updated by the diverged step)
    if (e instanceof TrainingDivergedError && e.step > start) await save(e.step);
    throw e;
  } finally {
    opt.dispose();
  }
  p.pm.setTraining(false);
  return { totalSteps, metrics: last, losses, trainRows: size(train), evalRows: size(held) };
}
