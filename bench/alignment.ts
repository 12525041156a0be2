// Alignment learning table on the synthetic preference task (libs/datasets/src/preference): the reward model's
// held-out pairwise accuracy, and per preference method (LoRA policy) the held-out implicit-reward accuracy and
// ground-truth win rate before and after, with the accuracy of the one-feature heuristics on the same pairs.
// JSON under bench/results/ and a Markdown table beside it. Defaults are the recipe of
// libs/objectives/src/train/README.md (reward model: full fine-tuning, 400 steps on 2,000 pairs, lr 3e-4;
// policies: LoRA r 8, 150 steps on 800 pairs, lr 1e-3).
//   npx tsx bench/alignment.ts [--base DIR|random] [--task full|slice|both] [--train 800] [--rm-train 2000]
//        [--eval 600] [--steps 150] [--rm-steps 400] [--noise 0.1] [--lr 0.001] [--rm-lr 0.0003] [--rm-lora]
//        [--methods rm,dpo,hinge,robust,ipo,orpo,simpo,kto] [--kto-feedback T (KTO on per-response labels: desirable iff score >= T)]
//        [--seed S (policy / reward-model training seed, default 1)] [--beta B] [--gamma G] [--desirable-weight W] [--undesirable-weight W]
//        [--sft-steps N (preferred-FT: first fine-tune the base on the chosen responses of the train pairs, full,
//         lr 3e-4, the DPO paper's reference when no SFT model exists; the policy and its reference start from
//         that model; default the recipe's 100, 0 = start from the base)]
// Each policy row also carries `byType`: the win rates before / after per held-out pair type (better>worse).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createRng, initBackend } from '@tuneloop/engine';
import { ARITH_SMALL, arithModelConfig, arithTokenizer, CausalLM, initWeights, RewardModel, type Tokenizer } from '@tuneloop/model';
import { groundTruthScore, heuristicAccuracy, isStylePair, preferenceTask, simulatedAnnotator, type ResponseKind } from '@tuneloop/datasets';
import { getPeftMethod } from '@tuneloop/peft';
import { evalReference, evaluatePolicy, trainPreferredFt, evaluateRewardModel, PREFERENCE_RECIPE, REWARD_MODEL_RECIPE, trainPreference, trainRewardModel, type PreferenceTrainConfig } from '@tuneloop/objectives';
import { loadModel } from '@tuneloop/files';
import { writeResult } from './results.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i++) {
  const k = process.argv[i].replace(/^--/, '');
  if (k === 'rm-lora') args.set(k, '1');
  else args.set(k, process.argv[++i]);
}
const home = process.env.TUNELOOP_HOME || '.tuneloop';
const baseArg = args.get('base') ?? path.join(home, 'models', 'tiny-arith');
const nTrain = Number(args.get('train') ?? PREFERENCE_RECIPE.pairs);
const nRmTrain = Number(args.get('rm-train') ?? REWARD_MODEL_RECIPE.pairs);
const nEval = Number(args.get('eval') ?? 600);
const steps = Number(args.get('steps') ?? PREFERENCE_RECIPE.steps);
const rmSteps = Number(args.get('rm-steps') ?? REWARD_MODEL_RECIPE.steps);
const noise = Number(args.get('noise') ?? 0.1);
const lr = Number(args.get('lr') ?? PREFERENCE_RECIPE.lr);
const rmLr = Number(args.get('rm-lr') ?? REWARD_MODEL_RECIPE.lr);
const rmFull = !args.has('rm-lora') && REWARD_MODEL_RECIPE.training === 'full';
const methods = (args.get('methods') ?? 'rm,dpo,hinge,robust,ipo,orpo,simpo,kto').split(',');
const taskArg = args.get('task') ?? 'full';
const seed = Number(args.get('seed') ?? 1);
const sftSteps = Number(args.get('sft-steps') ?? PREFERENCE_RECIPE.preferredFt.steps);
const num = (k: string) => (args.has(k) ? Number(args.get(k)) : undefined);
const overrides: Partial<PreferenceTrainConfig> = Object.fromEntries(
  Object.entries({ beta: num('beta'), gamma: num('gamma'), desirableWeight: num('desirable-weight'), undesirableWeight: num('undesirable-weight') }).filter(([, v]) => v !== undefined),
);

/** The CI slice: every better response is a correct rambling one (runs against a short-answer prior). 'full' is the default mix. */
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

/** KTO's native data: each response of the train pairs rated on its own (desirable iff its ground-truth score >= threshold), flipped with the annotator noise. */
function binaryFeedback(pairs: { prompt: string; chosen: string; rejected: string }[], threshold: number) {
  const rng = createRng(5);
  return pairs.flatMap((p) => [p.chosen, p.rejected].map((completion) => ({ prompt: p.prompt, completion, label: (groundTruthScore(p.prompt, completion) >= threshold) !== rng.next() < noise })));
}

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
  const annotate = (count: number) => simulatedAnnotator({ seed: 2, noise }).labelAll(preferenceTask({ seed: 1, count, split: 'train', kindWeights }));
  const train = annotate(nTrain);
  const heldOutGt = preferenceTask({ seed: 3, count: nEval, split: 'eval', kindWeights });
  const heldOut = heldOutGt.map((p) => ({ prompt: p.prompt, chosen: p.better, rejected: p.worse }));
  // Pairs decided by style alone (equally correct, one rambles) vs pairs that need the sum.
  const styleIdx = heldOutGt.flatMap((p, i) => (isStylePair(p) ? [i] : []));
  const sumIdx = heldOutGt.flatMap((p, i) => (isStylePair(p) ? [] : [i]));
  const sub = <T>(idx: number[], xs: T[]) => idx.map((i) => xs[i]);
  const typeOf = (p: (typeof heldOutGt)[number]) => `${p.betterKind}>${p.worseKind}`;
  const pairTypes: [string, number[]][] = [...new Set(heldOutGt.map(typeOf))].sort().map((t) => [t, heldOutGt.flatMap((p, i) => (typeOf(p) === t ? [i] : []))]);
  for (const h of ['shorter', 'correct'] as const) {
    rows.push({ task, method: h === 'shorter' ? 'heuristic: shorter is better' : 'heuristic: the correct one is better', seconds: 0, accAfter: heuristicAccuracy(heldOutGt, h), accAfterStylePairs: heuristicAccuracy(sub(styleIdx, heldOutGt), h), accAfterSumPairs: heuristicAccuracy(sub(sumIdx, heldOutGt), h) });
  }
  for (const method of methods) {
    const t0 = performance.now();
    const model = await freshBase();
    const lora = getPeftMethod('lora');
    if (method === 'rm') {
      model.setTrainable(rmFull);
      const pm = rmFull ? null : lora.apply(model, lora.parseConfig({ r: 8, lora_alpha: 16, target_modules: 'all-linear' }), { seed });
      const rm = new RewardModel(model, { seed });
      const before = evaluateRewardModel(rm, tok, heldOut);
      await trainRewardModel(rm, tok, nRmTrain === nTrain ? train : annotate(nRmTrain), { steps: rmSteps, batchSize: REWARD_MODEL_RECIPE.batchSize, lr: rmLr, seed, useMargin: REWARD_MODEL_RECIPE.useMargin, centerRewardsCoefficient: REWARD_MODEL_RECIPE.centerRewardsCoefficient });
      const after = evaluateRewardModel(rm, tok, heldOut);
      const acc = (idx: number[]) => (idx.length ? evaluateRewardModel(rm, tok, sub(idx, heldOut)).accuracy : NaN);
      rows.push({ task, method: `reward model (BT, ${rmFull ? 'full' : 'LoRA r 8'}, ${rmSteps} steps)`, seconds: (performance.now() - t0) / 1000, accBefore: before.accuracy, accAfter: after.accuracy, accAfterStylePairs: acc(styleIdx), accAfterSumPairs: acc(sumIdx), stylePairs: styleIdx.length, sumPairs: sumIdx.length });
      rm.dispose();
      pm?.unload();
    } else {
      if (sftSteps > 0) {
        model.setTrainable(true);
        const { batchSize, lr: ftLr } = PREFERENCE_RECIPE.preferredFt;
        await trainPreferredFt({ model, variables: model.trainableVariables(), tokenizer: tok, pairs: train, config: { steps: sftSteps, batchSize, lr: ftLr, seed: seed + 100 } });
      }
      model.setTrainable(false);
      const { r, alpha, targetModules } = PREFERENCE_RECIPE.lora;
      const pm = lora.apply(model, lora.parseConfig({ r, lora_alpha: alpha, target_modules: targetModules }), { seed });
      const cached = evalReference(model, tok, heldOut);
      const part = (idx: number[]) => evaluatePolicy(model, tok, { enc: sub(idx, cached.enc), ref: { chosen: Float32Array.from(sub(idx, [...cached.ref.chosen])), rejected: Float32Array.from(sub(idx, [...cached.ref.rejected])) } }, 0.1);
      const before = evaluatePolicy(model, tok, cached, 0.1);
      const recipeBeta: number | undefined = PREFERENCE_RECIPE.beta[POLICY[method].method as keyof typeof PREFERENCE_RECIPE.beta];
      const config = { steps, batchSize: PREFERENCE_RECIPE.batchSize, lr, seed, ...(recipeBeta ? { beta: recipeBeta } : {}), ...POLICY[method], ...overrides } as PreferenceTrainConfig;
      const partBefore = new Map(pairTypes.map(([t, idx]) => [t, part(idx)]));
      const feedback = args.get('kto-feedback');
      const data = method === 'kto' && feedback ? { unpaired: binaryFeedback(train, Number(feedback)) } : { pairs: train };
      const hist = await trainPreference({ model, variables: pm.trainableVariables(), tokenizer: tok, ...data, config });
      const after = evaluatePolicy(model, tok, cached, 0.1);
      rows.push({
        task,
        method,
        seconds: (performance.now() - t0) / 1000,
        accBefore: before.rewardAccuracyTiesHalf,
        accAfter: after.rewardAccuracy,
        accAfterStylePairs: part(styleIdx).rewardAccuracy,
        accAfterSumPairs: part(sumIdx).rewardAccuracy,
        winNormBefore: before.winRateNorm,
        winNormAfter: after.winRateNorm,
        winSumBefore: before.winRate,
        winSumAfter: after.winRate,
        finalLoss: hist[hist.length - 1].metrics.loss,
        beta: config.beta ?? 'default',
        seed,
        byType: JSON.stringify(Object.fromEntries(pairTypes.map(([t, idx]) => {
          const [b, a] = [partBefore.get(t)!, part(idx)];
          return [t, { n: idx.length, winNorm: [b.winRateNorm, a.winRateNorm], winSum: [b.winRate, a.winRate], acc: a.rewardAccuracy }];
        }))),
      });
      pm.unload();
    }
    model.dispose();
    console.error(JSON.stringify(rows[rows.length - 1]));
  }
}

const result = { backend: backend.name, base: baseArg, parameters, nTrain, nRmTrain, nEval, steps, rmSteps, noise, lr, rmLr, rewardModel: rmFull ? 'full' : 'lora', lora: { r: 8, alpha: 16, targets: 'all-linear' }, rows };
const file = writeResult('alignment', result);
const pct = (v: unknown) => (typeof v === 'number' ? `${(100 * v).toFixed(1)}%` : '');
const md = [
  `# Alignment learning (${backend.name}, base ${baseArg}, ${parameters} parameters, ${100 * noise}% annotator noise, ${nEval} held-out pairs; reward model ${rmFull ? 'full' : 'LoRA'} ${rmSteps} steps on ${nRmTrain} pairs lr ${rmLr}; policies LoRA r 8 ${steps} steps on ${nTrain} pairs lr ${lr})`,
  '',
  '| task | method | held-out accuracy before | after | after: style pairs | after: sum pairs | win rate (mean log-prob) before | after | win rate (sum log-prob) before | after | seconds |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.task} | ${r.method} | ${pct(r.accBefore)} | ${pct(r.accAfter)} | ${pct(r.accAfterStylePairs)} | ${pct(r.accAfterSumPairs)} | ${pct(r.winNormBefore)} | ${pct(r.winNormAfter)} | ${pct(r.winSumBefore)} | ${pct(r.winSumAfter)} | ${r.seconds.toFixed(1)} |`),
  '',
].join('\n');
writeFileSync(file.replace(/\.json$/, '.md'), md);
console.log(JSON.stringify(result, null, 2));
console.log(md);
