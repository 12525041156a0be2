// One reward-model job in its worker_thread (run by @tuneloop/jobs): loads the base, applies LoRA (or trains
// every weight), resumes from the job's checkpoint, trains with trainRewardModel (Bradley-Terry, optional margin
// and centering) reporting TRL-named metrics per step, evaluates pairwise accuracy on the held-out pairs, and
// writes the reward model folder (LoRA merged into the trunk + score.safetensors + reward_model.json).
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, createRng, initBackend } from '@tuneloop/engine';
import { loadModel, saveModel } from '@tuneloop/files';
import { jobDir, readCheckpoint, writeCheckpoint, type JobThreadInput, type JobThreadPost } from '@tuneloop/jobs';
import { rawFromTensors, RewardModel, serializeSafetensors, type CausalLM } from '@tuneloop/model';
import { evaluateRewardModel, trainRewardModel, type PreferenceExample } from '@tuneloop/objectives';
import { getPeftMethod } from '@tuneloop/peft';
import { evalCount, readPairs, resolveBase, type RewardJobSpec } from './job-spec.ts';

export const HEAD_FILE = 'score.safetensors';
export const INFO_FILE = 'reward_model.json';

/** Where a job writes its reward model folder before the model store has it. */
export function rewardModelOutDir(home: string, outputName: string, jobId: string): string {
  return path.join(home, 'reward-models', outputName, jobId);
}

/** After mergeAndUnload: writes each merged linear into the model's own base weights (what saveModel exports). */
export function bakeMerged(m: CausalLM): void {
  for (const [name, mod] of m.linears()) {
    const base = m.baseLinear(name);
    const merged = (mod as unknown as { weightT?: tf.Tensor2D }).weightT;
    if (!base || mod === base || !merged) continue;
    base.weightT.assign(merged);
    m.setLinear(name, base);
  }
}

interface Split {
  train: PreferenceExample[];
  eval: PreferenceExample[];
}

/** The job's pairs, read once and kept in the job folder, so a resumed attempt trains on exactly the same data. */
async function pairsOf(input: JobThreadInput<RewardJobSpec>): Promise<Split> {
  const file = path.join(jobDir(input.home, input.jobId), 'pairs.json');
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as Split;
  const s = input.spec;
  const strip = (p: PreferenceExample): PreferenceExample => ({ prompt: p.prompt, chosen: p.chosen, rejected: p.rejected, ...(p.margin !== undefined ? { margin: p.margin } : {}) });
  const all = (await readPairs(input.home, s.datasetUri, 'spec.dataset.uri', s.storeTarget)).pairs.map(strip);
  let split: Split;
  if (s.evalUri) split = { train: all, eval: (await readPairs(input.home, s.evalUri, 'options.eval_dataset.uri', s.storeTarget)).pairs.map(strip) };
  else {
    const order = createRng(s.training.seed + 17).shuffle(all.map((_, i) => i));
    const k = evalCount(all.length, s.evalFraction);
    split = { eval: order.slice(0, k).map((i) => all[i]), train: order.slice(k).map((i) => all[i]) };
  }
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(split));
  return split;
}

interface Meta {
  jobId: string;
  totalSteps: number;
  seed: number;
  losses: { step: number; loss: number }[];
}

export default async function rewardJob(input: JobThreadInput<RewardJobSpec>, post: JobThreadPost): Promise<void> {
  const { spec, jobId, home } = input;
  await initBackend({ quiet: true });
  const baseDir = existsSync(spec.baseDir) || !spec.baseStore ? spec.baseDir : (await resolveBase(home, spec.baseStore.name, spec.baseStore.version, spec.storeTarget)).dir;
  const { model, tokenizer: tok } = await loadModel(baseDir);
  if (!tok) throw new Error(`${baseDir}: has no tokenizer`);
  const data = await pairsOf(input);
  const t = spec.training;
  model.setTrainable(spec.method === 'full');
  const pm = spec.method === 'lora' ? getPeftMethod('lora').apply(model, getPeftMethod('lora').parseConfig(spec.loraConfig), { seed: t.seed }) : null;
  const rm = new RewardModel(model, { seed: t.seed });
  const opt = new AdamW({ weightDecay: t.weightDecay });
  try {
    // stable names for the checkpoint: the head, then the trainable trunk variables in the model's order
    const vars = rm.trainableVariables();
    const named = new Map<string, tf.Variable>(vars.map((v, i) => [i === 0 ? 'score.weight.T' : `trainable.${i}`, v]));
    const losses: Meta['losses'] = [];
    const ck = await readCheckpoint<Meta>(input.checkpointDir);
    let startStep = 0;
    if (ck) {
      if (ck.meta.totalSteps !== spec.totalSteps) throw new Error(`checkpoint ${input.checkpointDir}: was written for ${ck.meta.totalSteps} steps, this job has ${spec.totalSteps}`);
      for (const [n, v] of named) {
        const w = ck.state.weights.get(n);
        if (!w || w.shape.join(',') !== v.shape.join(',')) throw new Error(`checkpoint ${input.checkpointDir}: tensor ${n} missing or of another shape`);
        tf.tidy(() => v.assign(tf.tensor(w.data, w.shape)));
      }
      opt.setState(named, ck.state.optimizer);
      losses.push(...ck.meta.losses);
      startStep = ck.state.step;
    }
    const evaluate = (): Record<string, number> => {
      if (data.eval.length === 0) return {};
      pm?.setTraining(false);
      try {
        const e = evaluateRewardModel(rm, tok, data.eval);
        return { eval_accuracy: e.accuracy, eval_mean_margin: e.meanMargin };
      } finally {
        pm?.setTraining(true);
      }
    };
    pm?.setTraining(true);
    const trainable = vars.reduce((a, v) => a + v.size, 0);
    post({ type: 'ready', totalSteps: spec.totalSteps, resumedFrom: startStep, metrics: { trainable_params: trainable, train_pairs: data.train.length, eval_pairs: data.eval.length, ...(startStep === 0 ? evaluate() : {}) } });
    const pairs = spec.margin > 0 ? data.train.map((p) => ({ ...p, margin: (p.margin ?? 0) * spec.margin })) : data.train;
    const hist = await trainRewardModel(
      rm, tok, pairs,
      { steps: spec.totalSteps, batchSize: t.batchSize, lr: t.lr, seed: t.seed, useMargin: spec.margin > 0, centerRewardsCoefficient: spec.center || undefined, maxLength: t.maxLength, weightDecay: t.weightDecay, warmupSteps: t.warmupSteps ?? undefined, clipNorm: t.maxGradNorm ?? 1, startStep, optimizer: opt },
      async (s) => {
        const step = s.step + 1;
        const m = s.metrics;
        losses.push({ step, loss: m.loss });
        const last = step === spec.totalSteps;
        const evalNow = last || (spec.evalEvery > 0 && step % spec.evalEvery === 0) ? evaluate() : {};
        post({ type: 'step', step, totalSteps: spec.totalSteps, loss: m.loss, lr: s.lr, metrics: {
          'rewards/accuracies': m.accuracy, 'rewards/margins': m.margin, 'rewards/chosen': m['rewards/chosen'], 'rewards/rejected': m['rewards/rejected'], grad_norm: s.gradNorm, ...evalNow,
        } });
        if (!last && spec.checkpointEvery > 0 && step % spec.checkpointEvery === 0) {
          const weights = new Map([...named].map(([n, v]) => [n, { shape: [...v.shape], data: Float32Array.from(v.dataSync()) }]));
          await writeCheckpoint(input.checkpointDir, { step, weights, optimizer: opt.getState(named) }, { jobId, totalSteps: spec.totalSteps, seed: t.seed, losses });
          post({ type: 'checkpoint', step });
        }
      },
    );
    const final = evaluate();
    if (pm) {
      pm.setTraining(false);
      pm.mergeAndUnload();
      bakeMerged(model);
    }
    const finalLoss = hist.at(-1)?.metrics.loss ?? losses.at(-1)?.loss ?? NaN;
    const info = {
      jobId, base: spec.baseStore ? `${spec.baseStore.name}@${spec.baseStore.version}` : spec.baseRef, method: spec.method,
      ...(spec.method === 'lora' ? { lora: spec.loraConfig } : {}), steps: spec.totalSteps, trainPairs: data.train.length, evalPairs: data.eval.length,
      finalLoss, evalAccuracy: final.eval_accuracy ?? null, evalMeanMargin: final.eval_mean_margin ?? null, margin: spec.margin, center: spec.center, losses,
    };
    const head = rm.namedHead();
    const out = rewardModelOutDir(home, spec.outputName, jobId);
    const tmp = `${out}.tmp-${process.pid}`;
    await rm_(tmp);
    try {
      await saveModel(tmp, model, { tokenizer: tok, extraFiles: { [HEAD_FILE]: serializeSafetensors(rawFromTensors(head), { format: 'pt' }), [INFO_FILE]: JSON.stringify(info, null, 2) + '\n' } });
    } finally {
      for (const h of head.values()) h.dispose();
    }
    await rm_(out);
    await mkdir(path.dirname(out), { recursive: true });
    await rename(tmp, out);
    post({ type: 'done', outputDir: out, metrics: { final_loss: finalLoss, steps: spec.totalSteps, ...final }, result: { evalAccuracy: final.eval_accuracy ?? null, finalLoss } });
  } finally {
    opt.dispose();
    rm.dispose();
    pm?.unload();
    model.dispose();
  }
}

const rm_ = (p: string) => rm(p, { recursive: true, force: true });
