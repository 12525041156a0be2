// PEFT comparison benchmark (not a test): from the tiny arith base model (`tuneloop pretrain`, cached under
// TUNELOOP_HOME/models/tiny-arith), seeded SFT at equal steps with full, partial, LoRA (r 8), QLoRA, VeRA, DoRA and
// AdaLoRA through the adapter trainer's own trainJob; held-out 2-digit addition exact match before / after (the
// adapter reloaded from its saved PEFT folder), trainable parameters, peak tensor memory, time.
// Run: npx tsx bench/peft-compare.ts [--steps 1200] [--batch 32] [--rows 3000] [--methods lora,full] [--backend wasm|cpu]
//      [--base DIR] (default TUNELOOP_HOME/models/tiny-arith, pretrained first when missing) [--lr lora=0.01,...]
//      [--sweep 0.5,1,2]: every method trains once per multiplier of its learning rate (the same budget for each);
//      the row reported per method is the one with the lowest final eval loss (the trainer's eval split, never the
//      held-out sums), and every point of the sweep is listed below the table
//      JSON on stdout and in bench/results/, a Markdown table in bench/results/peft-compare-<time>.md
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '@tuneloop/engine';
import { arithCorpus, heldOutAdditions } from '@tuneloop/datasets';
import { loadModel } from '@tuneloop/files';
import { arithExactMatch } from '@tuneloop/model';
import { decodeAdapterFiles, loadAdapter } from '@tuneloop/peft';
import { StartTrainingRequest } from '@tuneloop/proto';
import { validateRequest } from '../services/adapter-trainer/src/prepare.ts';
import { trainJob, type ThreadMessage } from '../services/adapter-trainer/src/train-job.ts';
import { writeResult } from './results.ts';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const STEPS = Number(opt('steps', '1200'));
const BATCH = Number(opt('batch', '32'));
const ROWS = Number(opt('rows', '3000'));
const SEED = Number(opt('seed', '1'));
const BACKEND = opt('backend', '') as BackendName | '';

/**
 * Per method: PEFT config and learning rate, as chosen by `--sweep 0.5,1,2` at 600 steps x 32 on tiny-arith-small
 * (lowest eval loss; centres then: full 2e-3, partial 2e-3, lora 7e-3, qlora 7e-3, vera 5e-2, dora 5e-3, adalora 1e-2;
 * every point is in the adapter-trainer README). LoRA: r 8, lora_alpha 16 with rsLoRA (alpha / sqrt(r)), all-linear.
 */
const METHODS: Record<string, { config: Record<string, unknown>; lr: number }> = {
  full: { config: {}, lr: 2e-3 },
  partial: { config: { top_k_blocks: 1, head: true }, lr: 4e-3 },
  lora: { config: { r: 8, lora_alpha: 16, use_rslora: true, target_modules: 'all-linear' }, lr: 7e-3 },
  qlora: { config: { r: 8, lora_alpha: 16, use_rslora: true, target_modules: 'all-linear', bnb_4bit_quant_type: 'nf4', bnb_4bit_use_double_quant: true, block_size: 64 }, lr: 7e-3 },
  vera: { config: { r: 64, target_modules: 'all-linear', d_initial: 0.1 }, lr: 1e-1 },
  dora: { config: { r: 8, lora_alpha: 16, target_modules: 'all-linear' }, lr: 5e-3 },
  // budget schedule scaled to the run: warm up 10%, prune until 70%, then fine-tune the final ranks
  adalora: { config: { init_r: 12, target_r: 8, tinit: Math.round(STEPS / 10), tfinal: Math.round((3 * STEPS) / 10), deltaT: Math.max(1, Math.round(STEPS / 20)), lora_alpha: 16, target_modules: 'all-linear' }, lr: 2e-2 },
};
const SWEEP = opt('sweep', '1').split(',').map(Number);
if (SWEEP.some((x) => !(x > 0))) throw new Error(`--sweep: expected positive learning-rate multipliers, got '${opt('sweep', '1')}'`);
const chosen = opt('methods', Object.keys(METHODS).join(',')).split(',');
// --lr lora=0.01,dora=0.005 overrides the per-method learning rates (for sweeps)
for (const pair of opt('lr', '').split(',').filter(Boolean)) {
  const [name, value] = pair.split('=');
  if (!METHODS[name] || !(Number(value) > 0)) throw new Error(`--lr: expected method=rate pairs, got '${pair}'`);
  METHODS[name].lr = Number(value);
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const home = path.resolve(process.env.TUNELOOP_HOME || path.join(root, '.tuneloop'));
const baseDir = path.resolve(opt('base', path.join(home, 'models', 'tiny-arith')));
if (!existsSync(path.join(baseDir, 'config.json'))) {
  process.stderr.write(`no base model at ${baseDir}: running tuneloop pretrain --task arith (minutes)\n`);
  execFileSync(process.execPath, [path.join(root, 'bin/tuneloop.mjs'), 'pretrain', '--task', 'arith', '--out', baseDir], { stdio: 'inherit' });
}
const info = await initBackend({ ...(BACKEND ? { backend: BACKEND } : {}), quiet: true });

// SFT data: 2-digit additions from the seeded corpus (held-out pairs never appear), prompt-completion JSONL.
const work = mkdtempSync(path.join(os.tmpdir(), 'peft-compare-'));
const rows: string[] = [];
for (const ex of arithCorpus({ seed: 1000 + SEED })) {
  if (/^\d\d\+\d\d=$/.test(ex.prompt)) rows.push(JSON.stringify(ex));
  if (rows.length === ROWS) break;
}
writeFileSync(path.join(work, 'train.jsonl'), rows.join('\n') + '\n');
const heldOut = heldOutAdditions();

async function accuracy(adapterDir?: string, method?: string, overrides?: Record<string, unknown>): Promise<number> {
  const { model, tokenizer } = await loadModel(baseDir);
  try {
    if (adapterDir) {
      const files = decodeAdapterFiles(readFileSync(path.join(adapterDir, 'adapter_config.json'), 'utf8'), new Uint8Array(readFileSync(path.join(adapterDir, 'adapter_model.safetensors'))));
      const pm = loadAdapter(model, files, { method, overrides });
      pm.setTraining(false);
    }
    return arithExactMatch(model, tokenizer!, heldOut);
  } finally {
    model.dispose();
  }
}

const before = await accuracy();
process.stderr.write(`base exact match on ${heldOut.length} held-out additions: ${(100 * before).toFixed(1)}% (${info.name})\n`);
interface MethodResult {
  method: string;
  lr: number;
  trainable: number;
  total: number;
  trainablePercent: number;
  evalLossBefore: number | null;
  evalLossAfter: number | null;
  accuracyBefore: number;
  accuracyAfter: number;
  peakTensorMiB: number;
  peakRssMiB: number;
  seconds: number;
}
const results: MethodResult[] = [];
const sweepPoints: MethodResult[] = [];
for (const name of chosen) {
  const m = METHODS[name];
  if (!m) throw new Error(`--methods: unknown method '${name}' (known: ${Object.keys(METHODS).join(', ')})`);
  const points: MethodResult[] = [];
  for (const mult of SWEEP) points.push(await runMethod(name, m.config, m.lr * mult));
  sweepPoints.push(...points);
  const score = (r: MethodResult) => r.evalLossAfter ?? Infinity;
  results.push(points.reduce((a, b) => (score(b) < score(a) ? b : a)));
}

async function runMethod(name: string, config: Record<string, unknown>, lr: number): Promise<MethodResult> {
  const m = { config, lr };
  const req = StartTrainingRequest.fromPartial({
    spec: { baseModel: { name: baseDir }, outputName: name, dataset: { uri: path.join(work, 'train.jsonl') },
      training: { learningRate: m.lr, maxSteps: STEPS, batchSize: BATCH, warmupSteps: Math.round(STEPS / 20), maxGradNorm: 1, seed: SEED } },
    options: { method: name, methodConfigJson: JSON.stringify(m.config), evalFraction: 0.05, checkpointEvery: 100_000 },
  });
  const { spec } = await validateRequest(work, req);
  let peakBytes = 0;
  let peakRss = 0;
  const msgs: ThreadMessage[] = [];
  const t0 = performance.now();
  await trainJob({ jobId: `bench-${name}-${lr}`, home: work, spec }, (msg) => {
    msgs.push(msg);
    peakBytes = Math.max(peakBytes, tf.memory().numBytes); // between steps: weights + adapter + optimizer state
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (msg.type === 'step' && msg.report.step % 50 === 0) process.stderr.write(`  ${name} step ${msg.report.step}/${STEPS} loss ${msg.report.loss.toFixed(3)}\n`);
  });
  const seconds = (performance.now() - t0) / 1000;
  const ready = msgs.find((x) => x.type === 'ready') as Extract<ThreadMessage, { type: 'ready' }>;
  const done = msgs.find((x) => x.type === 'done') as Extract<ThreadMessage, { type: 'done' }>;
  const overrides = name === 'qlora' ? { bnb_4bit_quant_type: 'nf4', bnb_4bit_use_double_quant: true, block_size: 64 } : undefined;
  const after = await accuracy(done.adapterDir, name, overrides);
  const r: MethodResult = {
    method: name, lr: m.lr, trainable: ready.trainable, total: ready.total, trainablePercent: (100 * ready.trainable) / ready.total,
    evalLossBefore: ready.evalLoss ?? null, evalLossAfter: done.evalLoss ?? null, accuracyBefore: before, accuracyAfter: after,
    peakTensorMiB: peakBytes / 2 ** 20, peakRssMiB: peakRss / 2 ** 20, seconds,
  };
  process.stderr.write(`${name} lr ${m.lr}: ${(100 * after).toFixed(1)}%, eval loss ${r.evalLossAfter?.toFixed(3)} (${seconds.toFixed(0)} s)\n`);
  rmSync(done.adapterDir, { recursive: true, force: true });
  return r;
}
rmSync(work, { recursive: true, force: true });

const full = results.find((r) => r.method === 'full');
const gain = (r: MethodResult) => r.accuracyAfter - r.accuracyBefore;
const report = {
  bench: 'peft-compare', backend: info.name, baseDir, steps: STEPS, batch: BATCH, trainRows: ROWS, heldOut: heldOut.length, seed: SEED,
  sweep: SWEEP, results: results.map((r) => ({ ...r, gainVsFull: full && gain(full) > 0 ? gain(r) / gain(full) : null })), sweepPoints,
};
const file = writeResult('peft-compare', report);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const md = [
  `# PEFT comparison on the arith task (${STEPS} steps x batch ${BATCH}, seed ${SEED}, ${info.name})`,
  '',
  `Held-out 2-digit additions (${heldOut.length}, never in training): greedy exact match. Base model: ${pct(before)}.`,
  '',
  '| method | lr | trainable params | % of all | eval loss before -> after | accuracy before -> after | gain vs full | resident tensor MiB | time s |',
  '|---|---|---|---|---|---|---|---|---|',
  ...report.results.map((r) =>
    `| ${r.method} | ${r.lr} | ${r.trainable.toLocaleString('en-US')} | ${r.trainablePercent.toFixed(2)} | ${r.evalLossBefore?.toFixed(3)} -> ${r.evalLossAfter?.toFixed(3)} | ${pct(r.accuracyBefore)} -> ${pct(r.accuracyAfter)} | ${r.gainVsFull === null ? '-' : pct(r.gainVsFull)} | ${r.peakTensorMiB.toFixed(1)} | ${r.seconds.toFixed(0)} |`),
  '',
  `Learning rate per method: the lowest final eval loss of ${SWEEP.length} runs at ${SWEEP.map((x) => `${x}x`).join(' / ')} its base rate. All points (lr: eval loss, accuracy):`,
  '',
  ...chosen.map((name) => `- ${name}: ${sweepPoints.filter((r) => r.method === name).map((r) => `${r.lr}: ${r.evalLossAfter?.toFixed(3)}, ${pct(r.accuracyAfter)}`).join('; ')}`),
  '',
  'Accuracy "before" is the unquantized base for every row (QLoRA trains over the NF4 base, whose eval loss is its "before").',
  'Resident tensor MiB: the largest tf.memory() seen between steps (weights, adapter, AdamW state; activations excluded).',
  '',
].join('\n');
writeFileSync(file.replace(/\.json$/, '.md'), md);
process.stdout.write(JSON.stringify(report, null, 2) + '\n');
process.stderr.write(`\n${md}\nwritten ${file} (+ .md)\n`);
