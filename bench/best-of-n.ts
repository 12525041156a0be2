// Best-of-N + SFT learning table (issue 7): greedy pass@1 (numeric verifier) on held-out prompts before and after
// one round of rejection sampling (N samples per training prompt, the best by verifier, kept when it reaches
// threshold 1) and LoRA SFT on the winners, one row per seed. JSON under bench/results/, Markdown on stdout.
//   npx tsx bench/best-of-n.ts [--base DIR] [--seeds 1,2,3] [--n 8] [--prompts 500] [--steps 40] [--lr 1e-3]
//        [--eval 828] [--task two-digit|one-digit]
// Base and split as bench/grpo.ts: two-digit = the early-stopped pretrain (tiny-arith-800), held-out 2-digit
// additions vs corpus pairs; one-digit = 70 training sums, 30 held-out sums.
import path from 'node:path';
import { initBackend } from '@tuneloop/engine';
import { arithTokenizer } from '@tuneloop/model';
import { heldOutAdditions, takeArith } from '@tuneloop/datasets';
import { getPeftMethod } from '@tuneloop/peft';
import { loadModel } from '@tuneloop/files';
import { bestOfN, greedyPassAt1 } from '@tuneloop/rl';
import { createVerifier } from '@tuneloop/verifiers';
import { writeResult } from './results.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const home = process.env.TUNELOOP_HOME || '.tuneloop';
const base = args.get('base') ?? path.join(home, 'models', 'tiny-arith-800');
const seeds = (args.get('seeds') ?? args.get('seed') ?? '1,2,3').split(',').map(Number);
const n = Number(args.get('n') ?? 8);
const nPrompts = Number(args.get('prompts') ?? 500);
const steps = Number(args.get('steps') ?? 40);
const lr = Number(args.get('lr') ?? 1e-3);
const nEval = Number(args.get('eval') ?? 828);
const task = args.get('task') ?? 'two-digit';

const backend = await initBackend({ quiet: true });
const tok = arithTokenizer();
const verifier = createVerifier('numeric');
const oneDigit = Array.from({ length: 100 }, (_, k) => ({ a: Math.floor(k / 10), b: k % 10 })).map(({ a, b }) => ({
  prompt: `${a}+${b}=`, reference: String(a + b), heldOut: (a * 7 + b * 3) % 10 < 3,
}));
const held = task === 'one-digit'
  ? oneDigit.filter((e) => e.heldOut)
  : heldOutAdditions().slice(0, nEval).map((e) => ({ prompt: e.prompt, reference: e.completion }));
const opts = { maxNewTokens: 5 };
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const rows = [];
for (const seed of seeds) {
  const train = task === 'one-digit'
    ? oneDigit.filter((e) => !e.heldOut)
    : takeArith({ seed: 2000 + seed, textFraction: 0 }, 6 * nPrompts).filter((e) => /^\d\d\+\d\d=$/.test(e.prompt)).slice(0, nPrompts)
        .map((e) => ({ prompt: e.prompt, reference: e.completion }));
  const { model } = await loadModel(base);
  const before = await greedyPassAt1(model, tok, held, verifier, opts);
  const trainBefore = await greedyPassAt1(model, tok, train, verifier, opts);
  model.setTrainable(false);
  const lora = getPeftMethod('lora');
  const pm = lora.apply(model, lora.parseConfig({ r: 8, lora_alpha: 16, target_modules: 'all-linear' }), { seed });
  const t0 = performance.now();
  const r = await bestOfN({ model, variables: pm.trainableVariables(), tokenizer: tok, prompts: train, verifier, config: { n, threshold: 1, maxNewTokens: 5, sftSteps: steps, lr, seed } });
  const seconds = (performance.now() - t0) / 1000;
  const after = await greedyPassAt1(model, tok, held, verifier, opts);
  const trainAfter = await greedyPassAt1(model, tok, train, verifier, opts);
  rows.push({ seed, prompts: train.length, kept: r.kept, meanScore: r.meanScore, meanBestScore: r.meanBestScore,
    heldOutPassAt1Before: before.passAt1, heldOutPassAt1After: after.passAt1, deltaPoints: 100 * (after.passAt1 - before.passAt1),
    trainPassAt1Before: trainBefore.passAt1, trainPassAt1After: trainAfter.passAt1, seconds });
  model.dispose();
}
const meanDelta = rows.reduce((a, r) => a + r.deltaPoints, 0) / rows.length;
const result = { bench: 'best-of-n', task, backend: backend.name, base, n, steps, lr, seeds, evalCount: held.length, meanDeltaPoints: meanDelta, rows };
const file = writeResult('best-of-n', result);
console.log(JSON.stringify({ ...result, file }, null, 2));
console.log(`\n${path.basename(base)} (${task}), N ${n}, threshold 1, LoRA SFT ${steps} steps lr ${lr}`);
console.log('| seed | winners kept / prompts | held-out greedy pass@1 before | after | delta (points) | train-prompt pass@1 before -> after | seconds |\n|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.seed} | ${r.kept} / ${r.prompts} | ${pct(r.heldOutPassAt1Before)} | ${pct(r.heldOutPassAt1After)} | ${r.deltaPoints >= 0 ? '+' : ''}${r.deltaPoints.toFixed(1)} | ${pct(r.trainPassAt1Before)} -> ${pct(r.trainPassAt1After)} | ${r.seconds.toFixed(0)} |`);
}
console.log(`| mean | | | | ${meanDelta >= 0 ? '+' : ''}${meanDelta.toFixed(1)} | | |`);
