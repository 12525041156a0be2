// Best-of-N + SFT learning table: greedy pass@1 (numeric verifier) on held-out prompts before and after one
// round of rejection sampling (N samples per GRPO-style training prompt, best by verifier, threshold 1) and
// LoRA SFT on the winners, on the tiny arith base model. JSON under bench/results/, Markdown on stdout.
//   npx tsx bench/best-of-n.ts [--base DIR] [--n 8] [--steps 40] [--lr 3e-3] [--seed 1]
import path from 'node:path';
import { initBackend } from '@tuneloop/engine';
import { arithTokenizer } from '@tuneloop/model';
import { getPeftMethod } from '@tuneloop/peft';
import { loadModel } from '@tuneloop/files';
import { bestOfN, greedyPassAt1 } from '@tuneloop/rl';
import { createVerifier } from '@tuneloop/verifiers';
import { writeResult } from './results.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const home = process.env.TUNELOOP_HOME || '.tuneloop';
const base = args.get('base') ?? path.join(home, 'models', 'tiny-arith-small');
const n = Number(args.get('n') ?? 8);
const steps = Number(args.get('steps') ?? 40);
const lr = Number(args.get('lr') ?? 3e-3);
const seed = Number(args.get('seed') ?? 1);

const backend = await initBackend({ quiet: true });
const { model } = await loadModel(base);
const tok = arithTokenizer();
const verifier = createVerifier('numeric');
// The one-digit task of bench/grpo.ts: 70 training sums, 30 held-out sums (same split rule).
const all = Array.from({ length: 100 }, (_, k) => ({ a: Math.floor(k / 10), b: k % 10 })).map(({ a, b }) => ({
  prompt: `${a}+${b}=`, reference: String(a + b), heldOut: (a * 7 + b * 3) % 10 < 3,
}));
const train = all.filter((e) => !e.heldOut);
const held = all.filter((e) => e.heldOut);
const opts = { maxNewTokens: 5 };
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
const result = { bench: 'best-of-n', backend: backend.name, base, n, steps, lr, seed, kept: r.kept, meanScore: r.meanScore, meanBestScore: r.meanBestScore,
  heldOutPassAt1Before: before.passAt1, heldOutPassAt1After: after.passAt1, trainPassAt1Before: trainBefore.passAt1, trainPassAt1After: trainAfter.passAt1, seconds };
const file = writeResult('best-of-n', result);
console.log(JSON.stringify({ ...result, file }, null, 2));
console.log('\n| base | N | winners kept / prompts | held-out pass@1 before | after | train pass@1 before -> after | seconds |\n|---|---|---|---|---|---|---|');
console.log(`| ${path.basename(base)} (one-digit) | ${n} | ${r.kept} / ${train.length} | ${(100 * before.passAt1).toFixed(1)}% | ${(100 * after.passAt1).toFixed(1)}% | ${(100 * trainBefore.passAt1).toFixed(1)}% -> ${(100 * trainAfter.passAt1).toFixed(1)}% | ${seconds.toFixed(0)} |`);
