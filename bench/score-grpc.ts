// Score RPC under load over real gRPC: the reward-model service runs in its own process (the service module on a
// real socket, started by service-kit's startTestServices) and this process runs N concurrent callers, each
// sending `requests` Score calls of (prompt, `responses` completions) back to back on one shared channel.
// Modes: TUNELOOP_SCORE_BATCHING=on (the ScoreBatcher merges concurrent calls) and off (one forward pass per call).
// Reports p50 / p99 latency, requests/s and sequences/s per mode, and the server's forward-pass count.
//   npx tsx bench/score-grpc.ts [--callers 32] [--requests 16] [--responses 4] [--base DIR|random] [--wait-ms 2]
//                               [--modes off,on] [--rounds 1]
// The server side of the same script: npx tsx bench/score-grpc.ts --serve HOME (reads "stats" / "stop" on stdin).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { credentials } from '@grpc/grpc-js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);

if (args.has('serve')) {
  // ---- server process: the reward-model service module on a free port ----
  const [{ startTestServices }, { rewardModel }, { scoreStats }] = await Promise.all([
    import('@tuneloop/service-kit'),
    import('../services/reward-model/src/service.ts'),
    import('../services/reward-model/src/scorer.ts'),
  ]);
  const svc = await startTestServices([rewardModel], { TUNELOOP_HOME: args.get('serve') as string });
  console.log(JSON.stringify({ target: svc.target }));
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'stats') console.log(JSON.stringify(scoreStats()));
    if (line === 'stop') break;
  }
  await svc.close();
  process.exit(0);
}

// ---- load generator ----
const [tf, { createRng, initBackend }, model, { preferenceTask }, { loadModel, saveModel }, { ScoreRequest, RewardModelServiceClient }, { writeResult }] = await Promise.all([
  import('@tensorflow/tfjs-core'),
  import('@tuneloop/engine'),
  import('@tuneloop/model'),
  import('@tuneloop/datasets'),
  import('@tuneloop/files'),
  import('@tuneloop/proto'),
  import('./results.ts'),
]);

const callers = Number(args.get('callers') ?? 32);
const requests = Number(args.get('requests') ?? 16);
const responses = Number(args.get('responses') ?? 4);
const waitMs = args.get('wait-ms') ?? '2';
const rounds = Number(args.get('rounds') ?? 1);
const modes = (args.get('modes') ?? 'off,on').split(',') as ('on' | 'off')[];
const defaultBase = path.join(process.env.TUNELOOP_HOME || '.tuneloop', 'models', 'tiny-arith');
const baseArg = args.get('base') ?? (existsSync(path.join(defaultBase, 'config.json')) ? defaultBase : 'random');
const loadBefore = os.loadavg();

// A reward model folder (trunk + seeded score head), as `tuneloop reward train --out` writes it.
const backend = await initBackend({ quiet: true });
const home = mkdtempSync(path.join(os.tmpdir(), 'tuneloop-score-grpc-'));
const tok = model.arithTokenizer();
let trunk: import('@tuneloop/model').CausalLM;
if (baseArg === 'random') {
  const w = model.initWeights(model.arithModelConfig(model.ARITH_SMALL, tok), createRng(1));
  trunk = new model.CausalLM(model.arithModelConfig(model.ARITH_SMALL, tok), w);
  tf.dispose([...w.values()]);
} else trunk = (await loadModel(baseArg)).model;
const rm = new model.RewardModel(trunk, { seed: 1 });
const head = rm.namedHead();
await saveModel(path.join(home, 'models', 'bench-rm'), trunk, { tokenizer: tok, extraFiles: { 'score.safetensors': model.serializeSafetensors(model.rawFromTensors(head)) } });
const parameters = trunk.numParameters();
tf.dispose([...head.values()]);
rm.dispose();
trunk.dispose();

const pairs = preferenceTask({ seed: 5, count: callers * requests * responses, split: 'eval' });
const request = (c: number, r: number) =>
  ScoreRequest.fromPartial({
    rewardModel: { name: 'bench-rm', version: '' },
    items: Array.from({ length: responses }, (_, k) => {
      const p = pairs[((c * requests + r) * responses + k) % pairs.length];
      return { prompt: p.prompt, completion: k % 2 ? p.worse : p.better };
    }),
  });

interface Server { target: string; stats(): Promise<{ batches: number; requests: number; sequences: number; largestBatch: number }>; stop(): Promise<void> }

async function startServer(mode: 'on' | 'off'): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', home], {
    env: { ...process.env, TUNELOOP_SCORE_BATCHING: mode, TUNELOOP_SCORE_MAX_WAIT_MS: waitMs },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    if (r.done) throw new Error('bench server exited');
    return JSON.parse(r.value);
  };
  const { target } = await next();
  return {
    target,
    async stats() {
      child.stdin.write('stats\n');
      return next();
    },
    async stop() {
      child.stdin.end('stop\n');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

async function run(mode: 'on' | 'off', round: number) {
  const server = await startServer(mode);
  const client = new RewardModelServiceClient(server.target, credentials.createInsecure());
  const call = (req: import('@tuneloop/proto').ScoreRequest) =>
    new Promise<number[]>((resolve, reject) => client.score(req, (err, res) => (err ? reject(err) : resolve(res!.scores))));
  try {
    await call(request(0, 0)); // loads the model
    await Promise.all(Array.from({ length: callers }, (_, c) => call(request(c, 0)))); // warm-up burst
    const before = await server.stats();
    const lat: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: callers }, async (_, c) => {
        for (let r = 0; r < requests; r++) {
          const s = performance.now();
          const scores = await call(request(c, r));
          lat.push(performance.now() - s);
          if (scores.length !== responses) throw new Error(`expected ${responses} scores, got ${scores.length}`);
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    const after = await server.stats();
    const passes = after.batches - before.batches;
    return {
      mode: mode === 'on' ? 'batched' : 'one-at-a-time',
      round,
      p50Ms: pct(lat, 0.5),
      p99Ms: pct(lat, 0.99),
      requestsPerSec: (callers * requests) / secs,
      sequencesPerSec: (callers * requests * responses) / secs,
      seconds: secs,
      forwardPasses: passes,
      requestsPerPass: (after.requests - before.requests) / passes,
      largestBatch: after.largestBatch,
    };
  } finally {
    client.close();
    await server.stop();
  }
}

const rows: Awaited<ReturnType<typeof run>>[] = [];
try {
  for (let round = 1; round <= rounds; round++) for (const mode of modes) rows.push(await run(mode, round));
} finally {
  rmSync(home, { recursive: true, force: true });
}
const mean = (m: string, k: 'sequencesPerSec' | 'p99Ms' | 'p50Ms') => {
  const xs = rows.filter((r) => r.mode === m).map((r) => r[k]);
  return xs.reduce((a, b) => a + b, 0) / xs.length;
};
const speedup = modes.length === 2 ? mean('batched', 'sequencesPerSec') / mean('one-at-a-time', 'sequencesPerSec') : null;
const result = {
  transport: 'gRPC over 127.0.0.1 (service in its own process)',
  backend: backend.name,
  base: baseArg,
  parameters,
  callers,
  requests,
  responses,
  maxWaitMs: Number(waitMs),
  loadAverageBefore: loadBefore.map((x) => Number(x.toFixed(2))),
  loadAverageAfter: os.loadavg().map((x) => Number(x.toFixed(2))),
  cpus: os.cpus().length,
  rows,
  speedup,
};
const file = writeResult('score-grpc', result);
const md = [
  `# Score over gRPC (${backend.name}, ${callers} concurrent callers x ${requests} requests x ${responses} responses, base ${baseArg}, ${parameters} params; load ${result.loadAverageBefore[0]} before)`,
  '',
  '| mode | round | p50 ms | p99 ms | requests/s | sequences/s | forward passes | requests / pass | largest batch |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.mode} | ${r.round} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.requestsPerSec.toFixed(1)} | ${r.sequencesPerSec.toFixed(1)} | ${r.forwardPasses} | ${r.requestsPerPass.toFixed(2)} | ${r.largestBatch} |`),
  '',
  speedup === null ? '' : `Batched throughput / one-at-a-time: ${speedup.toFixed(2)}x`,
  '',
].join('\n');
writeFileSync(file.replace(/\.json$/, '.md'), md);
console.log(JSON.stringify(result, null, 2));
console.log(md);
