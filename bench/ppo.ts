// PPO / RLHF learning table: a reward model (the tiny arith model's trunk + score head, Bradley-Terry on
// ground-truth-ordered pairs of the synthetic preference task) scores a LoRA policy; PPO with a value head and
// an adaptive KL controller. Reported: mean RM score of greedy completions on held-out prompts before/after, the
// RM's held-out pairwise accuracy, and the KL per sequence to the reference against its target.
//   npx tsx bench/ppo.ts [--base DIR] [--rm-steps 150] [--steps 40] [--prompts 16] [--lr 1e-3] [--kl-target 2] [--kl-horizon 1000] [--kl-coef 0.05] [--seed 1]
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@tuneloop/engine';
import { arithTokenizer, generate, RewardModel } from '@tuneloop/model';
import { heldOutAdditions, preferenceTask, takeArith } from '@tuneloop/datasets';
import { getPeftMethod } from '@tuneloop/peft';
import { loadModel } from '@tuneloop/files';
import { evaluateRewardModel, scoreResponses, trainRewardModel } from '@tuneloop/objectives';
import { encodePrompts, trainPpo } from '@tuneloop/rl';
import { writeResult } from './results.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const home = process.env.TUNELOOP_HOME || '.tuneloop';
const base = args.get('base') ?? path.join(home, 'models', 'tiny-arith-small');
const rmSteps = Number(args.get('rm-steps') ?? 150);
const steps = Number(args.get('steps') ?? 40);
const promptsPerStep = Number(args.get('prompts') ?? 16);
const lr = Number(args.get('lr') ?? 1e-3);
const klTarget = Number(args.get('kl-target') ?? 2);
const seed = Number(args.get('seed') ?? 1);
const klHorizon = Number(args.get('kl-horizon') ?? 1000);

const backend = await initBackend({ quiet: true });
const tok = arithTokenizer();
// Reward model: its own copy of the base as the trunk, fully trained with the head.
const rmTrunk = (await loadModel(base)).model;
const rm = new RewardModel(rmTrunk, { seed });
const pairs = preferenceTask({ seed, count: 800, split: 'train' }).map((p) => ({ prompt: p.prompt, chosen: p.better, rejected: p.worse }));
const rmEval = preferenceTask({ seed: seed + 1, count: 200, split: 'eval' }).map((p) => ({ prompt: p.prompt, chosen: p.better, rejected: p.worse }));
await trainRewardModel(rm, tok, pairs, { steps: rmSteps, batchSize: 16, lr: 3e-3, seed });
const rmAcc = evaluateRewardModel(rm, tok, rmEval);
// An empty completion (EOS first) is scored as the non-answer '?' (the RM refuses empty responses).
const score = (ps: string[], cs: string[]) => ps.map((p, i) => scoreResponses(rm, tok, p, [cs[i].trim() === '' ? '?' : cs[i]])[0]);

const { model } = await loadModel(base);
const maxNewTokens = 6;
const heldPrompts = heldOutAdditions().slice(0, 150).map((e) => ({ prompt: e.prompt }));
const trainPrompts = takeArith({ seed: 500 + seed, textFraction: 0 }, 2000).filter((e) => /^\d\d\+\d\d=$/.test(e.prompt)).slice(0, 500).map((e) => ({ prompt: e.prompt }));
const greedyScore = () => {
  const ids = encodePrompts(tok, model.config, heldPrompts, maxNewTokens);
  const gens = generate(model, ids, { temperature: 0, maxNewTokens, eosTokenIds: [tok.eosTokenId!], decode: (t) => tok.decode(t, { skipSpecialTokens: true }) });
  const s = score(heldPrompts.map((p) => p.prompt), gens.map((g) => g.text));
  return s.reduce((a, b) => a + b, 0) / s.length;
};
const before = greedyScore();
model.setTrainable(false);
const lora = getPeftMethod('lora');
const pm = lora.apply(model, lora.parseConfig({ r: 8, lora_alpha: 16, target_modules: 'all-linear' }), { seed });
const t0 = performance.now();
const { history, valueHead } = await trainPpo({
  model, variables: pm.trainableVariables(), tokenizer: tok, prompts: trainPrompts, score,
  config: { steps, promptsPerStep, lr, maxNewTokens, klCoef: Number(args.get('kl-coef') ?? 0.05), klTarget, klHorizon, seed },
  onStep: (m) => {
    const x = m.metrics;
    process.stderr.write(`step ${m.step} score ${x.score.toFixed(3)} kl ${x.kl.toFixed(3)} kl_coef ${x.kl_coef.toFixed(4)} clip ${x['policy/clipfrac_avg'].toFixed(3)}\n`);
  },
});
const seconds = (performance.now() - t0) / 1000;
const after = greedyScore();
const lastKl = history.slice(-5).reduce((a, h) => a + h.metrics.kl, 0) / Math.min(5, history.length);
const result = { bench: 'ppo', backend: backend.name, base, seed, rmSteps, rmHeldOutAccuracy: rmAcc.accuracy, steps, promptsPerStep, lr, klTarget, klHorizon,
  heldOutRmScoreBefore: before, heldOutRmScoreAfter: after, klPerSequenceLast5: lastKl, klBelowTarget: lastKl < klTarget, seconds, tensorsAtEnd: tf.memory().numTensors, history };
const file = writeResult('ppo', result);
console.log(JSON.stringify({ ...result, history: undefined, file }, null, 2));
console.log('\n| base | RM held-out acc | steps x prompts | held-out RM score before | after | KL/seq (last 5) | KL target | seconds |\n|---|---|---|---|---|---|---|---|');
console.log(`| ${path.basename(base)} | ${(100 * rmAcc.accuracy).toFixed(1)}% | ${steps} x ${promptsPerStep} | ${before.toFixed(3)} | ${after.toFixed(3)} | ${lastKl.toFixed(3)} | ${klTarget} | ${seconds.toFixed(0)} |`);
valueHead.dispose();
