// Score under load: 32 concurrent callers each send requests of (prompt, 4 responses) to a real reward model
// (the tiny arith trunk + head); p50 / p99 latency and throughput with the ScoreBatcher vs one request at a time.
//   npx tsx bench/score-load.ts [--callers 32] [--requests 8] [--responses 4] [--base DIR|random] [--max-batch 64]
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createRng, initBackend } from '@tuneloop/engine';
import { ARITH_SMALL, arithModelConfig, arithTokenizer, CausalLM, initWeights, RewardModel } from '@tuneloop/model';
import { preferenceTask } from '@tuneloop/datasets';
import { encodeSequence, packSequences } from '@tuneloop/objectives';
import { loadModel } from '@tuneloop/files';
import { ScoreBatcher } from '../services/reward-model/src/score-batcher.ts';
import { writeResult } from './results.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const callers = Number(args.get('callers') ?? 32);
const requests = Number(args.get('requests') ?? 8);
const responses = Number(args.get('responses') ?? 4);
const maxBatch = Number(args.get('max-batch') ?? 64);
const baseArg = args.get('base') ?? path.join(process.env.TUNELOOP_HOME || '.tuneloop', 'models', 'tiny-arith');

const backend = await initBackend({ quiet: true });
const tok = arithTokenizer();
let trunk: CausalLM;
if (baseArg === 'random') {
  const cfg = arithModelConfig(ARITH_SMALL, tok);
  const w = initWeights(cfg, createRng(1));
  trunk = new CausalLM(cfg, w);
  tf.dispose([...w.values()]);
} else trunk = (await loadModel(baseArg)).model;
const rm = new RewardModel(trunk, { seed: 1 });
const pad = tok.padTokenId ?? 0;
const scoreBatch = (seqs: number[][]) => {
  const s = tf.tidy(() => rm.scores(packSequences(seqs, pad)));
  const out = Array.from(s.dataSync());
  s.dispose();
  return out;
};
const pairs = preferenceTask({ seed: 5, count: callers * requests * responses, split: 'eval' });
const request = (c: number, r: number) =>
  Array.from({ length: responses }, (_, k) => {
    const p = pairs[(c * requests + r) * responses + k];
    return encodeSequence(tok, p.prompt, k % 2 ? p.worse : p.better);
  });
scoreBatch([request(0, 0)[0]]); // warm-up (kernels, RoPE tables)

const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
async function run(mode: 'batched' | 'one-at-a-time') {
  const batcher = new ScoreBatcher(scoreBatch, { maxBatchSize: maxBatch, maxSequenceLength: 64, maxQueuedSequences: 100000, maxWaitMs: 2 });
  const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      for (let r = 0; r < requests; r++) {
        const seqs = request(c, r);
        const s = performance.now();
        if (mode === 'batched') await batcher.score(seqs);
        else {
          await Promise.resolve();
          scoreBatch(seqs);
        }
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  return { mode, p50Ms: pct(lat, 0.5), p99Ms: pct(lat, 0.99), requestsPerSec: (callers * requests) / secs, sequencesPerSec: (callers * requests * responses) / secs, seconds: secs, batches: mode === 'batched' ? batcher.stats.batches : callers * requests, largestBatch: mode === 'batched' ? batcher.stats.largestBatch : responses };
}
const rows = [await run('one-at-a-time'), await run('batched')];
const result = { backend: backend.name, base: baseArg, parameters: trunk.numParameters(), callers, requests, responses, maxBatch, rows, speedup: rows[1].sequencesPerSec / rows[0].sequencesPerSec };
const file = writeResult('score-load', result);
const md = [
  `# Score under load (${backend.name}, ${callers} concurrent callers x ${requests} requests x ${responses} responses, base ${baseArg})`,
  '',
  '| mode | p50 ms | p99 ms | requests/s | sequences/s | forward passes | largest batch |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.mode} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.requestsPerSec.toFixed(1)} | ${r.sequencesPerSec.toFixed(1)} | ${r.batches} | ${r.largestBatch} |`),
  '',
  `Batching throughput / one-at-a-time: ${result.speedup.toFixed(2)}x`,
  '',
].join('\n');
writeFileSync(file.replace(/\.json$/, '.md'), md);
console.log(JSON.stringify(result, null, 2));
console.log(md);
