// Rollout cross-request batching and streaming, one worker process (real NATS, the in-process worker):
// (1) completions/s of C concurrent GenerateGroups-sized requests with merging (--max-batch 64) and without
// (max 1: every job generates alone); (2) a streamed Generate: time to first token and tokens/s as the caller
// sees them, beside generate() in this process on the same model. Random-weight model of the tiny-arith-small
// shape (never emits EOS, so every completion runs to --tokens). JSON under bench/results/.
//   npx tsx bench/rollout-batching.ts [--concurrent 16] [--prompts 2] [--group 4] [--tokens 32] [--repeats 3]   (median of the repeats)
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Kvm } from '@nats-io/kv';
import { connectBus, deprovision, provision } from '@tuneloop/bus';
import { createRng, initBackend } from '@tuneloop/engine';
import { saveModel } from '@tuneloop/files';
import { ARITH_SMALL, arithModelConfig, arithTokenizer, CausalLM, generate, initWeights } from '@tuneloop/model';
import { dispatchGroups, resultBucketName } from '../services/rollout/src/dispatcher.ts';
import { streamGenerate } from '../services/rollout/src/stream.ts';
import { startRolloutWorker } from '../services/rollout/src/worker.ts';
import { writeResult } from './results.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const concurrent = Number(args.get('concurrent') ?? 16);
const repeats = Number(args.get('repeats') ?? 3);
const nPrompts = Number(args.get('prompts') ?? 2);
const groupSize = Number(args.get('group') ?? 4);
const maxNewTokens = Number(args.get('tokens') ?? 32);
const NATS = process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222';
const prefix = `B${Math.random().toString(16).slice(2, 10)}_`;

await initBackend({ quiet: true });
const loadBefore = loadavg()[0];
const tok = arithTokenizer();
const cfg = arithModelConfig(ARITH_SMALL, tok);
const w = initWeights(cfg, createRng(1));
const model = new CausalLM(cfg, w);
tf.dispose([...w.values()]);
const dir = await mkdtemp(path.join(tmpdir(), 'rollout-batching-'));
await saveModel(path.join(dir, 'policy'), model, { tokenizer: tok });
const bus = await connectBus({ url: NATS, name: 'rollout-batching-bench', prefix });
await provision(bus, { prefix, storage: 'memory' });

const prompts = (r: number) => Array.from({ length: nPrompts }, (_, i) => ({ prompt: `${10 + ((r * 7 + i) % 80)}+${11 + i}=` }));
const rows: { maxBatch: number; requests: number; completions: number; seconds: number; completionsPerSecond: number; meanBatchSequences: number }[] = [];
let stream: Record<string, number> = {};
try {
  for (const maxBatch of [1, 64]) {
    const worker = await startRolloutWorker(bus, { concurrency: concurrent, maxBatchSequences: maxBatch, gatherMs: 5 });
    const req = (r: number, seed: number) => dispatchGroups(bus, { modelDir: path.join(dir, 'policy'), prompts: prompts(r), groupSize, maxNewTokens, seed, batchSize: nPrompts, timeoutMs: 600_000 });
    await req(0, 99); // warm-up: load the model
    const runs: { seconds: number; res: Awaited<ReturnType<typeof req>>[] }[] = [];
    for (let k = 0; k < repeats; k++) {
      const t0 = performance.now();
      const res = await Promise.all(Array.from({ length: concurrent }, (_, r) => req(r, r)));
      runs.push({ seconds: (performance.now() - t0) / 1000, res });
    }
    runs.sort((a, b) => a.seconds - b.seconds);
    const { seconds, res } = runs[Math.floor(runs.length / 2)];
    const completions = res.reduce((a, x) => a + x.completions.length, 0);
    const sizes = res.flatMap((x) => x.batchSequences);
    rows.push({ maxBatch, requests: concurrent, completions, seconds, completionsPerSecond: completions / seconds, meanBatchSequences: sizes.reduce((a, b) => a + b, 0) / sizes.length });
    process.stderr.write(`max batch ${maxBatch}: ${(completions / seconds).toFixed(1)} completions/s\n`);
    if (maxBatch === 64) {
      const ids = [tok.bosTokenId!, ...tok.encode('12+34=', { addSpecialTokens: false })];
      const s0 = performance.now();
      let first = 0;
      let tokens = 0;
      for await (const _ of streamGenerate(bus, { policy: { kind: 'folder', modelDir: path.join(dir, 'policy') }, promptIds: ids, n: 1, maxNewTokens: 48, temperature: 0, topK: 0, topP: 1, seed: 0, stop: [] })) {
        if (tokens++ === 0) first = performance.now() - s0;
      }
      const total = (performance.now() - s0) / 1000;
      const l0 = performance.now();
      generate(model, [ids], { maxNewTokens: 48, temperature: 0 });
      const local = (performance.now() - l0) / 1000;
      stream = { tokens, firstTokenMs: first, streamedTokensPerSecond: tokens / total, localGenerateTokensPerSecond: 48 / local };
      process.stderr.write(`stream: first token ${first.toFixed(0)} ms, ${(tokens / total).toFixed(0)} tok/s (local generate ${(48 / local).toFixed(0)} tok/s)\n`);
    }
    await worker.close();
  }
} finally {
  await new Kvm(bus.js).open(resultBucketName(bus)).then((kv) => kv.destroy()).catch(() => undefined);
  await deprovision(bus, { prefix }).catch(() => undefined);
  await bus.close();
  model.dispose();
  await rm(dir, { recursive: true, force: true });
}
const result = { bench: 'rollout-batching', backend: tf.getBackend(), cpus: cpus().length, repeats, loadAverage1m: { before: loadBefore, after: loadavg()[0] }, concurrent, prompts: nPrompts, groupSize, maxNewTokens, rows, stream };
const file = writeResult('rollout-batching', result);
console.log(JSON.stringify({ ...result, file }, null, 2));
console.log('\n| max batch | requests | completions | seconds | completions/s | mean sequences per call |\n|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.maxBatch} | ${r.requests} | ${r.completions} | ${r.seconds.toFixed(2)} | ${r.completionsPerSecond.toFixed(1)} | ${r.meanBatchSequences.toFixed(1)} |`);
