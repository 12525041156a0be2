// Alignment learning table on the synthetic preference task (libs/datasets/src/preference): the reward model's
// held-out pairwise accuracy, and per preference method (LoRA policy) the held-out implicit-reward accuracy and
// ground-truth win rate before and after. JSON under bench/results/ and a Markdown table beside it.
//   npx tsx bench/alignment.ts [--base DIR|random] [--task full|slice|both] [--train 800] [--eval 300]
//        [--steps 150] [--noise 0.1] [--methods rm,dpo,hinge,robust,ipo,orpo,simpo,kto] [--lr 0.02]
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createRng, initBackend } from '@tuneloop/engine';
import { ARITH_SMALL, arithModelConfig, arithTokenizer, CausalLM, initWeights, RewardModel, type Tokenizer } from '@tuneloop/model';
import { preferenceTask, simulatedAnnotator, type ResponseKind } from '@tuneloop/datasets';
import { getPeftMethod } from '@tuneloop/peft';
import { evalReference, evaluatePolicy, evaluateRewardModel, trainPreference, trainRewardModel, type PreferenceTrainConfig } from '@tuneloop/objectives';
import { loadModel } from '@tuneloop/files';
import { writeResult } from './results.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const home = process.env.TUNELOOP_HOME || '.tuneloop';
const baseArg = args.get('base') ?? path.join(home, 'models', 'tiny-arith');
const nTrain = Number(args.get('train') ?? 800);
const nEval = Number(args.get('eval') ?? 300);
const steps = Number(args.get('steps') ?? 150);
const noise = Number(args.get('noise') ?? 0.1);
const lr = Number(args.get('lr') ?? 0.02);
const methods = (args.get('methods') ?? 'rm,dpo,hinge,robust,ipo,orpo,simpo,kto').split(',');
const taskArg = args.get('task') ?? 'both';

/** The CI slice: every better response is a correct rambling one (runs against a short-answer prior). */
const SLICE: Partial<Record<ResponseKind, number>> = { correct: 0, 'correct-rambling': 2, 'wrong-close': 1, 'wrong-far': 1, 'wrong-rambling': 0 };
const TASKS: Record<string, Partial<Record<ResponseKind, number>> | undefined> = { full: undefined, slice: SLICE };

const backend = await initBackend({ quiet: true });
const tok: Tokenizer = arithTokenizer();

async function freshBase(): Promise<CausalLM> {
  if (baseArg === 'random') {
    const cfg = arithModelConfig({ ...ARITH_SMALL, hiddenSize: 32, numLayers: 1, intermediateSize: 64 }, tok);
    const w = initWeights(cfg, createRng(1));
    const m = new CausalLM(cfg, w);
    tf.dispose([...w.values()]);
    return m;
  }
  return (await loadModel(baseArg)).model;
}

const POLICY: Record<string, Partial<PreferenceTrainConfig>> = {
  dpo: { method: 'dpo', lossType: 'sigmoid' },
  hinge: { method: 'dpo', lossType: 'hinge' },
  robust: { method: 'dpo', lossType: 'robust', labelSmoothing: 0.1 },
  ipo: { method: 'ipo' },
  orpo: { method: 'orpo' },
  simpo: { method: 'simpo' },
  kto: { method: 'kto' },
};

interface Row {
  task: string;
  method: string;
  seconds: number;
  [k: string]: string | number;
}
const rows: Row[] = [];
const probe = await freshBase();
const parameters = probe.numParameters();
probe.dispose();

for (const task of taskArg === 'both' ? ['slice', 'full'] : [taskArg]) {
  const kindWeights = TASKS[task];
  const train = simulatedAnnotator({ seed: 2, noise }).labelAll(preferenceTask({ seed: 1, count: nTrain, split: 'train', kindWeights }));
  const heldOutGt = preferenceTask({ seed: 3, count: nEval, split: 'eval', kindWeights });
  const heldOut = heldOutGt.map((p) => ({ prompt: p.prompt, chosen: p.better, rejected: p.worse }));
  // Pairs decidable by style (exactly one response rambles) vs pairs that need the sum (same style).
  const rambles = (k: string) => k.endsWith('rambling');
  const styleIdx = heldOutGt.flatMap((p, i) => (rambles(p.betterKind) !== rambles(p.worseKind) ? [i] : []));
  const sumIdx = heldOutGt.flatMap((p, i) => (rambles(p.betterKind) === rambles(p.worseKind) ? [i] : []));
  for (const method of methods) {
    const t0 = performance.now();
    const model = await freshBase();
    model.setTrainable(false);
    const lora = getPeftMethod('lora');
    const pm = lora.apply(model, lora.parseConfig({ r: 8, lora_alpha: 16, target_modules: 'all-linear' }), { seed: 1 });
    if (method === 'rm') {
      const rm = new RewardModel(model, { seed: 1 });
      const before = evaluateRewardModel(rm, tok, heldOut);
      await trainRewardModel(rm, tok, train, { steps, batchSize: 16, lr: 3e-3, seed: 1, useMargin: true, centerRewardsCoefficient: 0.01 });
      const after = evaluateRewardModel(rm, tok, heldOut);
      const sub = (idx: number[]) => (idx.length ? evaluateRewardModel(rm, tok, idx.map((i) => heldOut[i])).accuracy : NaN);
      rows.push({ task, method: 'reward model (BT, margin, centering)', seconds: (performance.now() - t0) / 1000, accBefore: before.accuracy, accAfter: after.accuracy, accAfterStylePairs: sub(styleIdx), accAfterSumPairs: sub(sumIdx), stylePairs: styleIdx.length, sumPairs: sumIdx.length });
      rm.dispose();
    } else {
      const cached = evalReference(model, tok, heldOut);
      const before = evaluatePolicy(model, tok, cached, 0.1);
      const config = { steps, batchSize: 16, lr, seed: 1, ...POLICY[method] } as PreferenceTrainConfig;
      const hist = await trainPreference({ model, variables: pm.trainableVariables(), tokenizer: tok, pairs: train, config });
      const after = evaluatePolicy(model, tok, cached, 0.1);
      rows.push({
        task,
        method,
        seconds: (performance.now() - t0) / 1000,
        accBefore: before.rewardAccuracyTiesHalf,
        accAfter: after.rewardAccuracy,
        winNormBefore: before.winRateNorm,
        winNormAfter: after.winRateNorm,
        winSumBefore: before.winRate,
        winSumAfter: after.winRate,
        finalLoss: hist[hist.length - 1].metrics.loss,
      });
    }
    pm.unload();
    model.dispose();
    console.error(JSON.stringify(rows[rows.length - 1]));
  }
}

const result = { backend: backend.name, base: baseArg, parameters, nTrain, nEval, steps, noise, lr, lora: { r: 8, alpha: 16, targets: 'all-linear' }, rows };
const file = writeResult('alignment', result);
const pct = (v: unknown) => (typeof v === 'number' ? `${(100 * v).toFixed(1)}%` : '');
const md = [
  `# Alignment learning (${backend.name}, base ${baseArg}, ${parameters} parameters, ${nTrain} train pairs with ${100 * noise}% annotator noise, ${nEval} held-out pairs, ${steps} steps)`,
  '',
  '| task | method | held-out accuracy before | after | win rate (mean log-prob) before | after | win rate (sum log-prob) before | after | seconds |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.task} | ${r.method} | ${pct(r.accBefore)} | ${pct(r.accAfter)} | ${pct(r.winNormBefore)} | ${pct(r.winNormAfter)} | ${pct(r.winSumBefore)} | ${pct(r.winSumAfter)} | ${r.seconds.toFixed(1)} |`),
  '',
].join('\n');
writeFileSync(file.replace(/\.json$/, '.md'), md);
console.log(JSON.stringify(result, null, 2));
console.log(md);
