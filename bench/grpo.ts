// GRPO learning table: greedy pass@1 (numeric verifier) on held-out 2-digit additions before and after GRPO
// with a LoRA policy on the tiny arith base model, seeded, with the per-step log (reward, pass rate, KL,
// clip ratio). JSON under bench/results/ and a Markdown table on stdout.
//   npx tsx bench/grpo.ts [--base DIR] [--steps 40] [--prompts 8] [--group 8] [--lr 5e-3] [--eval 300]
//        [--iterations 2] [--loss dapo] [--beta 0] [--seed 1] [--task two-digit|one-digit]
// two-digit: held-out = the pretraining split's held-out pairs, GRPO prompts = corpus pairs. one-digit: the 100
// sums a+b (0 <= a, b <= 9) split by a fixed rule into 70 GRPO prompts and 30 held-out prompts.
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@tuneloop/engine';
import { arithTokenizer } from '@tuneloop/model';
import { heldOutAdditions, takeArith } from '@tuneloop/datasets';
import { getPeftMethod } from '@tuneloop/peft';
import { loadModel } from '@tuneloop/files';
import { greedyPassAt1, trainGrpo, type GrpoStepMetrics } from '@tuneloop/rl';
import { createVerifier } from '@tuneloop/verifiers';
import type { GrpoLossType } from '@tuneloop/objectives';
import { writeResult } from './results.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const home = process.env.TUNELOOP_HOME || '.tuneloop';
const base = args.get('base') ?? path.join(home, 'models', 'tiny-arith');
const steps = Number(args.get('steps') ?? 40);
const promptsPerStep = Number(args.get('prompts') ?? 8);
const groupSize = Number(args.get('group') ?? 8);
const lr = Number(args.get('lr') ?? 5e-3);
const nEval = Number(args.get('eval') ?? 300);
const numIterations = Number(args.get('iterations') ?? 2);
const lossType = (args.get('loss') ?? 'dapo') as GrpoLossType;
const beta = Number(args.get('beta') ?? 0);
const seed = Number(args.get('seed') ?? 1);
const task = args.get('task') ?? 'two-digit';

const backend = await initBackend({ quiet: true });
const { model } = await loadModel(base);
const tok = arithTokenizer();
const verifier = createVerifier('numeric');
// Held-out pairs are never in the pretraining corpus nor in the GRPO prompts; GRPO trains on corpus pairs.
const oneDigit = Array.from({ length: 100 }, (_, k) => ({ a: Math.floor(k / 10), b: k % 10 })).map(({ a, b }) => ({
  prompt: `${a}+${b}=`, reference: String(a + b), heldOut: (a * 7 + b * 3) % 10 < 3,
}));
const evalPrompts = task === 'one-digit'
  ? oneDigit.filter((e) => e.heldOut)
  : heldOutAdditions().slice(0, nEval).map((e) => ({ prompt: e.prompt, reference: e.completion }));
const trainPrompts = task === 'one-digit'
  ? oneDigit.filter((e) => !e.heldOut)
  : takeArith({ seed: 1000 + seed, textFraction: 0 }, 3000)
      .filter((e) => /^\d\d\+\d\d=$/.test(e.prompt))
      .slice(0, 1000)
      .map((e) => ({ prompt: e.prompt, reference: e.completion }));
const evalOpts = { maxNewTokens: 5 };
const before = await greedyPassAt1(model, tok, evalPrompts, verifier, evalOpts);
const trainBefore = await greedyPassAt1(model, tok, trainPrompts.slice(0, nEval), verifier, evalOpts);
model.setTrainable(false);
const lora = getPeftMethod('lora');
const pm = lora.apply(model, lora.parseConfig({ r: 8, lora_alpha: 16, target_modules: 'all-linear' }), { seed });
const started = performance.now();
const log: GrpoStepMetrics[] = await trainGrpo({
  model, variables: pm.trainableVariables(), tokenizer: tok, prompts: trainPrompts, verifier,
  config: { steps, promptsPerStep, groupSize, lr, numIterations, lossType, beta, maxNewTokens: 5, seed },
  onStep: (m) => {
    const x = m.metrics;
    process.stderr.write(`step ${m.step} reward ${x.reward.toFixed(3)} pass ${x.pass_rate.toFixed(3)} kl ${x.kl.toFixed(4)} clip ${x.clip_ratio.toFixed(3)} ${m.seconds.toFixed(1)}s\n`);
  },
});
const seconds = (performance.now() - started) / 1000;
const after = await greedyPassAt1(model, tok, evalPrompts, verifier, evalOpts);
const trainAfter = await greedyPassAt1(model, tok, trainPrompts.slice(0, nEval), verifier, evalOpts);
const result = {
  bench: 'grpo', task, backend: backend.name, base, seed, steps, promptsPerStep, groupSize, lr, numIterations, lossType, beta,
  evalCount: before.count, heldOutPassAt1Before: before.passAt1, heldOutPassAt1After: after.passAt1,
  trainPassAt1Before: trainBefore.passAt1, trainPassAt1After: trainAfter.passAt1,
  deltaPoints: 100 * (after.passAt1 - before.passAt1), seconds, tensorsAtEnd: tf.memory().numTensors, log,
};
const file = writeResult('grpo', result);
console.log(JSON.stringify({ ...result, log: undefined, file }, null, 2));
console.log(`\n| base | steps x P x G | held-out pass@1 before | after | delta (points) | train-prompt pass@1 before -> after | seconds |`);
console.log(`|---|---|---|---|---|---|---|`);
console.log(`| ${path.basename(base)} (${task}) | ${steps} x ${promptsPerStep} x ${groupSize} | ${(100 * before.passAt1).toFixed(1)}% | ${(100 * after.passAt1).toFixed(1)}% | ${result.deltaPoints.toFixed(1)} | ${(100 * trainBefore.passAt1).toFixed(1)}% -> ${(100 * trainAfter.passAt1).toFixed(1)}% | ${seconds.toFixed(0)} |`);
