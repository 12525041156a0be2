// PPO / RLHF learning table: a reward model (a trunk + score head, Bradley-Terry on ground-truth-ordered pairs
// of the synthetic preference task; trunk: --rm-base, default the default base model) scores a LoRA policy
// (--base); PPO with a value head and an adaptive KL controller. Reported: mean RM score of greedy completions
// on held-out prompts before/after, the RM's held-out pairwise accuracy, held-out greedy pass@1 (numeric), and
// the KL per sequence to the reference against its target.
//   npx tsx bench/ppo.ts [--base DIR] [--rm-base DIR] [--rm-steps 400] [--steps 40] [--prompts 16] [--lr 3e-4]
//        [--kl-target 1] [--kl-horizon 1000] [--kl-coef 0.05] [--seed 1] [--eval-samples 4] [--sft-steps N] [--max-new-tokens 6 (12 with --sft-steps)]
//        [--kl-fixed 1 (a fixed --kl-coef; the default is the adaptive controller toward --kl-target)]
// The held-out RM score is reported for sampled completions (T 1, the policy PPO optimises; the same sampling
// seeds before and after) and for greedy ones.
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@tuneloop/engine';
import { arithTokenizer, generate, RewardModel } from '@tuneloop/model';
import { heldOutAdditions, preferenceTask, simulatedAnnotator, takeArith } from '@tuneloop/datasets';
import { getPeftMethod } from '@tuneloop/peft';
import { loadModel } from '@tuneloop/files';
import { evaluateRewardModel, PREFERENCE_RECIPE, REWARD_MODEL_RECIPE, scoreResponses, trainPreferredFt, trainRewardModel } from '@tuneloop/objectives';
import { encodePrompts, trainPpo } from '@tuneloop/rl';
import { createVerifier } from '@tuneloop/verifiers';
import { writeResult } from './results.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const home = process.env.TUNELOOP_HOME || '.tuneloop';
const base = args.get('base') ?? path.join(home, 'models', 'tiny-arith-800');
const rmBase = args.get('rm-base') ?? path.join(home, 'models', 'tiny-arith');
const rmSteps = Number(args.get('rm-steps') ?? REWARD_MODEL_RECIPE.steps);
const steps = Number(args.get('steps') ?? 40);
const promptsPerStep = Number(args.get('prompts') ?? 16);
const lr = Number(args.get('lr') ?? 3e-4);
const klTarget = Number(args.get('kl-target') ?? 1);
// --kl-fixed 1: a fixed KL coefficient (--kl-coef) instead of the adaptive controller; the target is then only the bar
const klFixed = args.get('kl-fixed') === '1';
const seed = Number(args.get('seed') ?? 1);
const klHorizon = Number(args.get('kl-horizon') ?? 1000);

const backend = await initBackend({ quiet: true });
const tok = arithTokenizer();
// Reward model: its own copy of the base as the trunk, fully trained with the head.
const rmTrunk = (await loadModel(rmBase)).model;
const rm = new RewardModel(rmTrunk, { seed });
const pairs = preferenceTask({ seed, count: REWARD_MODEL_RECIPE.pairs, split: 'train' }).map((p) => ({ prompt: p.prompt, chosen: p.better, rejected: p.worse }));
const rmEval = preferenceTask({ seed: seed + 1, count: 300, split: 'eval' }).map((p) => ({ prompt: p.prompt, chosen: p.better, rejected: p.worse }));
// The reward-model recipe of @tuneloop/objectives (full fine-tuning, lr 3e-4, reward centering 0.01).
await trainRewardModel(rm, tok, pairs, {
  steps: rmSteps, batchSize: REWARD_MODEL_RECIPE.batchSize, lr: REWARD_MODEL_RECIPE.lr, centerRewardsCoefficient: REWARD_MODEL_RECIPE.centerRewardsCoefficient, seed,
});
const rmAcc = evaluateRewardModel(rm, tok, rmEval);
// An empty completion (EOS first) is scored as the non-answer '?' (the RM refuses empty responses).
const score = (ps: string[], cs: string[]) => ps.map((p, i) => scoreResponses(rm, tok, p, [cs[i].trim() === '' ? '?' : cs[i]])[0]);

const { model } = await loadModel(base);
// --sft-steps N: the InstructGPT order, an SFT'd policy before PPO: the policy base is first fine-tuned (full) on the
// chosen responses of 800 annotated pairs of the preference task (10% noise; other seeds than the reward model's
// pairs), which makes it answer in the styles the annotators saw (rambling answers included); that model is the
// starting policy and the reference.
const sftSteps = Number(args.get('sft-steps') ?? 0);
if (sftSteps > 0) {
  const demos = simulatedAnnotator({ seed: seed + 20, noise: 0.1 }).labelAll(preferenceTask({ seed: seed + 10, count: 800, split: 'train' }));
  model.setTrainable(true);
  const { batchSize, lr: ftLr } = PREFERENCE_RECIPE.preferredFt;
  await trainPreferredFt({ model, variables: model.trainableVariables(), tokenizer: tok, pairs: demos, config: { steps: sftSteps, batchSize, lr: ftLr, seed } });
}
const maxNewTokens = Number(args.get('max-new-tokens') ?? (sftSteps > 0 ? 12 : 6)); // rambling answers need ~12
const heldPrompts = heldOutAdditions().slice(0, Number(args.get('eval') ?? 300)).map((e) => ({ prompt: e.prompt, reference: e.completion }));
const trainPrompts = takeArith({ seed: 500 + seed, textFraction: 0 }, 2000).filter((e) => /^\d\d\+\d\d=$/.test(e.prompt)).slice(0, 500).map((e) => ({ prompt: e.prompt }));
const numeric = createVerifier('numeric');
/** Greedy completions of the held-out prompts: mean RM score and pass@1 by the numeric verifier. */
const greedyScore = async () => {
  const ids = encodePrompts(tok, model.config, heldPrompts, maxNewTokens);
  const gens = generate(model, ids, { temperature: 0, maxNewTokens, eosTokenIds: [tok.eosTokenId!], decode: (t) => tok.decode(t, { skipSpecialTokens: true }) });
  const s = score(heldPrompts.map((p) => p.prompt), gens.map((g) => g.text));
  let pass = 0;
  for (let i = 0; i < gens.length; i++) if (((await numeric.score(heldPrompts[i].prompt, gens[i].text, heldPrompts[i].reference)) ?? 0) >= 1) pass++;
  return { rm: s.reduce((a, b) => a + b, 0) / s.length, passAt1: pass / gens.length };
};
/** Sampled completions (T 1, --eval-samples per held-out prompt, the same seeds before and after): mean RM score, the quantity PPO maximises. */
const evalSamples = Number(args.get('eval-samples') ?? 4);
const sampledScore = () => {
  const ids = encodePrompts(tok, model.config, heldPrompts, maxNewTokens);
  const rep = Array.from({ length: evalSamples }, () => ids).flat();
  const ps = Array.from({ length: evalSamples }, () => heldPrompts.map((p) => p.prompt)).flat();
  const gens = generate(model, rep, { temperature: 1, maxNewTokens, eosTokenIds: [tok.eosTokenId!], decode: (t) => tok.decode(t, { skipSpecialTokens: true }), seed: 777 });
  const s = score(ps, gens.map((g) => g.text));
  return s.reduce((a, b) => a + b, 0) / s.length;
};
const before = await greedyScore();
const sampledBefore = sampledScore();
model.setTrainable(false);
const lora = getPeftMethod('lora');
const pm = lora.apply(model, lora.parseConfig({ r: 8, lora_alpha: 16, target_modules: 'all-linear' }), { seed });
const t0 = performance.now();
const { history, valueHead } = await trainPpo({
  model, variables: pm.trainableVariables(), tokenizer: tok, prompts: trainPrompts, score,
  config: { steps, promptsPerStep, lr, maxNewTokens, klCoef: Number(args.get('kl-coef') ?? 0.05), ...(klFixed ? {} : { klTarget, klHorizon }), seed },
  onStep: (m) => {
    const x = m.metrics;
    process.stderr.write(`step ${m.step} score ${x.score.toFixed(3)} kl ${x.kl.toFixed(3)} kl_coef ${x.kl_coef.toFixed(4)} clip ${x['policy/clipfrac_avg'].toFixed(3)}\n`);
  },
});
const seconds = (performance.now() - t0) / 1000;
const after = await greedyScore();
const sampledAfter = sampledScore();
const klMax = Math.max(...history.map((h) => h.metrics.kl));
const klBatchesOver = history.filter((h) => h.metrics.kl > klTarget).length;
const klMeanAll = history.reduce((a, h) => a + h.metrics.kl, 0) / history.length;
const lastKl = history.slice(-5).reduce((a, h) => a + h.metrics.kl, 0) / Math.min(5, history.length);
const result = { bench: 'ppo', backend: backend.name, base, sftSteps, seed, rmSteps, rmHeldOutAccuracy: rmAcc.accuracy, steps, promptsPerStep, lr, klTarget, klHorizon,
  heldOutRmScoreBefore: before.rm, heldOutRmScoreAfter: after.rm, evalSamples, heldOutSampledRmScoreBefore: sampledBefore, heldOutSampledRmScoreAfter: sampledAfter, heldOutPassAt1Before: before.passAt1, heldOutPassAt1After: after.passAt1, rmBase, klPerSequenceLast5: lastKl, klMeanAll, klMax, klBatchesOver, klFixed, klBelowTarget: lastKl < klTarget, seconds, tensorsAtEnd: tf.memory().numTensors, history };
const file = writeResult('ppo', result);
console.log(JSON.stringify({ ...result, history: undefined, file }, null, 2));
console.log('\n| seed | RM held-out acc | steps x prompts | held-out RM score, sampled, before | after | greedy before | after | held-out pass@1 before | after | KL/seq (last 5) | KL mean / max | batches over target | KL target | seconds |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
console.log(`| ${seed} | ${(100 * rmAcc.accuracy).toFixed(1)}% | ${steps} x ${promptsPerStep} | ${sampledBefore.toFixed(3)} | ${sampledAfter.toFixed(3)} | ${before.rm.toFixed(3)} | ${after.rm.toFixed(3)} | ${(100 * before.passAt1).toFixed(1)}% | ${(100 * after.passAt1).toFixed(1)}% | ${lastKl.toFixed(3)} | ${klMeanAll.toFixed(3)} / ${klMax.toFixed(2)} | ${klBatchesOver} / ${history.length} | ${klTarget} | ${seconds.toFixed(0)} |`);
valueHead.dispose();
