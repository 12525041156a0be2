// Best-of-N + SFT through the services (issue 7): the same protocol as bench/best-of-n.ts (two-digit task, N samples
// per training prompt, the best kept at threshold 1, LoRA r 8 SFT on the winners, held-out greedy pass@1 before and
// after), but as a preference-optimizer best-of-N job: sampling on the rollout service's worker, the winners stored
// as a model-store dataset, the SFT as an adapter-trainer job (all four services in this process, real gRPC on a
// port and real NATS, as under `npm start`). One row per seed; JSON under bench/results/, Markdown on stdout.
//   npx tsx bench/best-of-n-services.ts [--base DIR] [--seeds 1,2,3] [--n 8] [--prompts 500] [--steps 40] [--lr 1e-3] [--eval 828]
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import { adapterTrainer } from '@tuneloop/adapter-trainer';
import { connectBus, deprovision, jobsKv, provision } from '@tuneloop/bus';
import { heldOutAdditions, takeArith } from '@tuneloop/datasets';
import { connectStore, modelStore } from '@tuneloop/model-store';
import { preferenceOptimizer } from '@tuneloop/preference-optimizer';
import { PreferenceOptimizerServiceClient, StartOptimizationRequest, type JobEvent } from '@tuneloop/proto';
import { rollout } from '@tuneloop/rollout';
import { startTestServices } from '@tuneloop/service-kit';
import { writeResult } from './results.ts';
import { importModel } from './store.ts';

const { values: a } = parseArgs({
  options: {
    base: { type: 'string', default: path.join(process.env.TUNELOOP_HOME || '.tuneloop', 'models', 'tiny-arith-800') },
    seeds: { type: 'string', default: '1,2,3' },
    n: { type: 'string', default: '8' },
    prompts: { type: 'string', default: '500' },
    steps: { type: 'string', default: '40' },
    lr: { type: 'string', default: '1e-3' },
    eval: { type: 'string', default: '828' },
  },
});
const seeds = a.seeds!.split(',').map(Number);
const n = Number(a.n);
const nPrompts = Number(a.prompts);

const home = await mkdtemp(path.join(os.tmpdir(), 'tuneloop-bon-bench-'));
const prefix = `b${randomUUID().slice(0, 8)}`;
const bus = await connectBus({ url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'bon-bench', prefix });
await provision(bus, { prefix, storage: 'memory' });
const svc = await startTestServices([modelStore, rollout, adapterTrainer, preferenceOptimizer], { TUNELOOP_HOME: home, TUNELOOP_NATS_PREFIX: prefix });
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
try {
  const store = connectStore(svc.target);
  const base = await importModel(store, path.resolve(a.base!), 'bon-base');
  store.close();
  const held = heldOutAdditions().slice(0, Number(a.eval)).map((e) => ({ prompt: e.prompt, answer: e.completion }));
  await writeFile(path.join(home, 'held-out.jsonl'), held.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const client = new PreferenceOptimizerServiceClient(svc.target, credentials.createInsecure());
  const rows = [];
  for (const seed of seeds) {
    // the training prompts of bench/best-of-n.ts for this seed
    const train = takeArith({ seed: 2000 + seed, textFraction: 0 }, 6 * nPrompts).filter((e) => /^\d\d\+\d\d=$/.test(e.prompt)).slice(0, nPrompts);
    await writeFile(path.join(home, `prompts-${seed}.jsonl`), train.map((e) => JSON.stringify({ prompt: e.prompt, answer: e.completion })).join('\n') + '\n');
    const t0 = performance.now();
    const req = StartOptimizationRequest.fromPartial({
      spec: {
        baseModel: { name: base.ref!.name, version: base.ref!.version }, outputName: `bon-${seed}`, dataset: { uri: `prompts-${seed}.jsonl`, format: 5 },
        training: { learningRate: Number(a.lr), maxSteps: Number(a.steps), batchSize: 16, seed },
        objective: { $case: 'bestOfN', value: { n, keepTopK: 0, threshold: 1, verifier: { json: '{"type":"numeric"}' }, sampling: { maxNewTokens: 5, temperature: 1 } } },
      },
      options: { rank: 8, targetModules: ['all-linear'], evalDataset: { uri: 'held-out.jsonl', format: 5 } },
    });
    const job = await new Promise<{ jobId: string }>((resolve, reject) => client.startOptimization(req, (e, r) => (e ? reject(e) : resolve(r.job!))));
    const events: (JobEvent & { at: number })[] = [];
    let sampledAt = 0;
    for await (const m of client.watchOptimizationJob({ jobId: job.jobId }) as AsyncIterable<{ event?: JobEvent }>) {
      if (!m.event) continue;
      events.push({ ...m.event, at: performance.now() });
      if (/prompts kept a winner/.test(m.event.message)) sampledAt = performance.now();
      if (m.event.message) process.stderr.write(`seed ${seed}: ${m.event.message}\n`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const rec = (await (await jobsKv(bus)).get(job.jobId))!.value;
    if (rec.state !== 'succeeded') throw new Error(`job ${job.jobId} ${rec.state}: ${rec.error ?? ''}`);
    const metrics = (rec.result as { metrics: Record<string, number> }).metrics;
    const before = events.find((e) => e.metrics.eval_pass_at_1 !== undefined)!.metrics.eval_pass_at_1;
    const firstStep = events.find((e) => e.step > 0 && e.loss > 0);
    rows.push({
      seed, jobId: job.jobId, sftJobId: (rec.result as { sftJobId: string }).sftJobId, prompts: train.length, kept: metrics.kept, meanBestScore: metrics.mean_best_score, meanScore: metrics.mean_score,
      heldOutPassAt1Before: before, heldOutPassAt1After: metrics.eval_pass_at_1, deltaPoints: 100 * (metrics.eval_pass_at_1 - before),
      seconds, samplingSeconds: sampledAt ? (sampledAt - t0) / 1000 : null, secondsToFirstSftStep: firstStep ? (firstStep.at - t0) / 1000 : null,
    });
  }
  client.close();
  const meanDelta = rows.reduce((s, r) => s + r.deltaPoints, 0) / rows.length;
  const result = {
    bench: 'best-of-n-services', when: new Date().toISOString(), base: a.base, n, steps: Number(a.steps), lr: Number(a.lr), seeds, evalCount: held.length,
    host: `${os.cpus().length} cpus, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`, meanDeltaPoints: meanDelta, rows,
  };
  const file = writeResult('best-of-n-services', result);
  console.log(JSON.stringify({ ...result, file }, null, 2));
  console.log(`\n${path.basename(a.base!)}, N ${n}, threshold 1, SFT job ${a.steps} steps lr ${a.lr} (rollout service + adapter trainer)`);
  console.log('| seed | winners kept / prompts | held-out greedy pass@1 before | after | delta (points) | sampling s | job s |\n|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.seed} | ${r.kept} / ${r.prompts} | ${pct(r.heldOutPassAt1Before)} | ${pct(r.heldOutPassAt1After)} | ${r.deltaPoints >= 0 ? '+' : ''}${r.deltaPoints.toFixed(1)} | ${r.samplingSeconds?.toFixed(0) ?? '-'} | ${r.seconds.toFixed(0)} |`);
  }
  console.log(`| mean | | | | ${meanDelta >= 0 ? '+' : ''}${meanDelta.toFixed(1)} | | |`);
} finally {
  await svc.close();
  await deprovision(bus).catch(() => undefined);
  await bus.close();
  await rm(home, { recursive: true, force: true });
}
