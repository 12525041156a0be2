// Rollout scale-out: generation throughput (completions/s) of the jobs.rollout.generate worker pool with 1, 2
// and 3 worker processes on this machine (real NATS, real child processes), one GenerateGroups-sized request
// per setting after a warm-up request. Each worker holds up to --concurrency jobs and merges their sequences
// into one generation call (at most 64). JSON under bench/results/ (with the machine's load average, since
// the numbers depend on it) and a Markdown table on stdout.
//   npx tsx bench/rollout-scale.ts [--base DIR|random] [--prompts 48] [--group 4] [--tokens 16] [--batch 2] [--workers 1,2,3] [--concurrency 8]
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kvm } from '@nats-io/kv';
import { connectBus, deprovision, provision } from '@tuneloop/bus';
import { spawnUntilReady } from '@tuneloop/service-kit';
import { dispatchGroups, resultBucketName } from '../services/rollout/src/dispatcher.ts';
import { writeResult } from './results.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const home = process.env.TUNELOOP_HOME || '.tuneloop';
// --base random: seeded random weights of the tiny-arith-small shape (no pretraining needed; never emits EOS,
// so every completion runs to --tokens)
const base = args.get('base') === 'random' ? await randomBase() : path.resolve(args.get('base') ?? path.join(home, 'models', 'tiny-arith-small'));
if (!existsSync(path.join(base, 'config.json'))) throw new Error(`--base: no model folder at ${base} (run: tuneloop pretrain --task arith --small --out ${base}, or pass --base random)`);

async function randomBase(): Promise<string> {
  const [tf, { createRng, initBackend }, m, { saveModel }, { mkdtemp }, { tmpdir }] = await Promise.all([
    import('@tensorflow/tfjs-core'), import('@tuneloop/engine'), import('@tuneloop/model'), import('@tuneloop/files'), import('node:fs/promises'), import('node:os'),
  ]);
  await initBackend({ quiet: true });
  const tok = m.arithTokenizer();
  const cfg = m.arithModelConfig(m.ARITH_SMALL, tok);
  const w = m.initWeights(cfg, createRng(1));
  const model = new m.CausalLM(cfg, w);
  tf.dispose([...w.values()]);
  const dir = path.join(await mkdtemp(path.join(tmpdir(), 'rollout-scale-')), 'random-tiny-arith-small');
  await saveModel(dir, model, { tokenizer: tok });
  model.dispose();
  return dir;
}
const nPrompts = Number(args.get('prompts') ?? 48);
const groupSize = Number(args.get('group') ?? 4);
const maxNewTokens = Number(args.get('tokens') ?? 16);
const batchSize = Number(args.get('batch') ?? 2);
const settings = (args.get('workers') ?? '1,2,3').split(',').map(Number);
const concurrency = Number(args.get('concurrency') ?? 8);
const loadBefore = loadavg()[0];
const NATS = process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222';
const prefix = `B${Math.random().toString(16).slice(2, 10)}_`;

const bus = await connectBus({ url: NATS, name: 'rollout-scale-bench', prefix });
await provision(bus, { prefix, storage: 'memory' });

const spawned: ChildProcess[] = [];
const startWorker = (): Promise<ChildProcess> =>
  spawnUntilReady(path.join(root, 'services/rollout/src/worker-main.ts'), {
    cwd: root,
    env: { TUNELOOP_NATS_URL: NATS, TUNELOOP_NATS_PREFIX: prefix, TUNELOOP_ROLLOUT_CONCURRENCY: String(concurrency) },
    children: spawned,
  });

const prompts = Array.from({ length: nPrompts }, (_, i) => ({ prompt: `${10 + (i % 90)}+${10 + ((i * 7) % 90)}=` }));
const rows: { workers: number; completions: number; seconds: number; completionsPerSecond: number; batchesPerWorker: Record<string, number> }[] = [];
try {
  for (const n of settings) {
    const workers = await Promise.all(Array.from({ length: n }, startWorker));
    const req = { modelDir: base, prompts, groupSize, maxNewTokens, batchSize, timeoutMs: 600_000 };
    await dispatchGroups(bus, { ...req, prompts: prompts.slice(0, batchSize * n), seed: 99 }); // warm-up: every worker loads the model
    const t0 = performance.now();
    const res = await dispatchGroups(bus, { ...req, seed: 1 });
    const seconds = (performance.now() - t0) / 1000;
    rows.push({ workers: n, completions: res.completions.length, seconds, completionsPerSecond: res.completions.length / seconds, batchesPerWorker: res.workers });
    process.stderr.write(`${n} worker(s): ${(res.completions.length / seconds).toFixed(1)} completions/s\n`);
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r)))));
  }
} finally {
  await new Kvm(bus.js).open(resultBucketName(bus)).then((kv) => kv.destroy()).catch(() => undefined);
  await deprovision(bus, { prefix }).catch(() => undefined);
  await bus.close();
}
const result = { bench: 'rollout-scale', base, cpus: cpus().length, loadAverage1m: { before: loadBefore, after: loadavg()[0] }, prompts: nPrompts, groupSize, maxNewTokens, batchSize, concurrency, rows };
const file = writeResult('rollout-scale', result);
console.log(JSON.stringify({ ...result, file }, null, 2));
console.log('\n| workers | completions | seconds | completions/s |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.workers} | ${r.completions} | ${r.seconds.toFixed(1)} | ${r.completionsPerSecond.toFixed(1)} |`);
