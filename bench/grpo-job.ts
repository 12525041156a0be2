// The GRPO recipe of bench/grpo.ts (full fine-tuning against a frozen copy, lr 1e-5, 250 batches of 16 prompts x 8,
// numeric verifier, max 5 new tokens) run as a preference-optimizer job, the product path (the model store and the
// optimizer in this process as under `npm start`, real gRPC and NATS): the same request as
//   tuneloop optimize grpo --policy <base>@1 --data prompts.jsonl --eval held-out.jsonl --method full --lr 1e-5 \
//     --steps 250 --prompts 16 --group 8 --max-new-tokens 5 --verifier numeric --seed <seed>
// with the bench's prompts for the seed (1000 corpus pairs) and its 828 held-out pairs. Held-out greedy pass@1 before
// and after, per seed, as the job reports them. JSON under bench/results/, Markdown on stdout.
//   npx tsx bench/grpo-job.ts [--base DIR] [--seeds 1] [--steps 250] [--lr 1e-5] [--rollout local|service]
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { credentials } from '@grpc/grpc-js';
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
    seeds: { type: 'string', default: '1' },
    steps: { type: 'string', default: '250' },
    lr: { type: 'string', default: '1e-5' },
    method: { type: 'string', default: 'full' },
    rollout: { type: 'string', default: 'local' },
  },
});
const seeds = a.seeds!.split(',').map(Number);
const home = await mkdtemp(path.join(os.tmpdir(), 'tuneloop-grpo-job-bench-'));
const prefix = `b${randomUUID().slice(0, 8)}`;
const bus = await connectBus({ url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'grpo-job-bench', prefix });
await provision(bus, { prefix, storage: 'memory' });
const svc = await startTestServices(a.rollout === 'service' ? [modelStore, rollout, preferenceOptimizer] : [modelStore, preferenceOptimizer], { TUNELOOP_HOME: home, TUNELOOP_NATS_PREFIX: prefix });
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
try {
  const store = connectStore(svc.target);
  const base = await importModel(store, path.resolve(a.base!), 'grpo-base');
  store.close();
  const held = heldOutAdditions().map((e) => ({ prompt: e.prompt, answer: e.completion }));
  await writeFile(path.join(home, 'held-out.jsonl'), held.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const client = new PreferenceOptimizerServiceClient(svc.target, credentials.createInsecure());
  const rows = [];
  for (const seed of seeds) {
    // bench/grpo.ts's GRPO prompts for this seed
    const train = takeArith({ seed: 1000 + seed, textFraction: 0 }, 3000).filter((e) => /^\d\d\+\d\d=$/.test(e.prompt)).slice(0, 1000);
    await writeFile(path.join(home, `prompts-${seed}.jsonl`), train.map((e) => JSON.stringify({ prompt: e.prompt, answer: e.completion })).join('\n') + '\n');
    const req = StartOptimizationRequest.fromPartial({
      spec: {
        baseModel: { name: base.ref!.name, version: base.ref!.version }, outputName: `grpo-${seed}`, dataset: { uri: `prompts-${seed}.jsonl`, format: 5 },
        training: { learningRate: Number(a.lr), maxSteps: Number(a.steps), batchSize: 16, seed },
        objective: { $case: 'grpo', value: { groupSize: 8, verifier: { json: '{"type":"numeric"}' }, sampling: { maxNewTokens: 5 } } },
      },
      options: { method: a.method, ...(a.method === 'full' ? {} : { rank: 8, targetModules: ['all-linear'] }), evalDataset: { uri: 'held-out.jsonl', format: 5 }, checkpointEvery: 50, rollout: a.rollout },
    });
    const t0 = performance.now();
    const job = await new Promise<{ jobId: string }>((resolve, reject) => client.startOptimization(req, (e, r) => (e ? reject(e) : resolve(r.job!))));
    const events: JobEvent[] = [];
    for await (const m of client.watchOptimizationJob({ jobId: job.jobId }) as AsyncIterable<{ event?: JobEvent }>) {
      if (!m.event) continue;
      events.push(m.event);
      if (m.event.step > 0 && m.event.step % 50 === 0 && m.event.metrics.reward !== undefined) process.stderr.write(`seed ${seed}: batch ${m.event.step} reward ${m.event.metrics.reward.toFixed(3)}\n`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const rec = (await (await jobsKv(bus)).get(job.jobId))!.value;
    if (rec.state !== 'succeeded') throw new Error(`job ${job.jobId} ${rec.state}: ${rec.error ?? ''}`);
    const metrics = (rec.result as { metrics: Record<string, number> }).metrics;
    const before = events.find((e) => e.metrics.eval_pass_at_1 !== undefined)!.metrics.eval_pass_at_1;
    const rewards = events.filter((e) => e.step > 0 && e.metrics.reward !== undefined).map((e) => e.metrics.reward);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    rows.push({ seed, jobId: job.jobId, heldOutPassAt1Before: before, heldOutPassAt1After: metrics.eval_pass_at_1, deltaPoints: 100 * (metrics.eval_pass_at_1 - before), rewardFirst5: mean(rewards.slice(0, 5)), rewardLast5: mean(rewards.slice(-5)), seconds });
  }
  client.close();
  const result = { bench: 'grpo-job', when: new Date().toISOString(), base: a.base, method: a.method, rollout: a.rollout, steps: Number(a.steps), lr: Number(a.lr), seeds, evalCount: held.length, host: `${os.cpus().length} cpus, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`, rows };
  const file = writeResult('grpo-job', result);
  console.log(JSON.stringify({ ...result, file }, null, 2));
  console.log(`\n${path.basename(a.base!)}: GRPO job, ${a.method}, ${a.steps} batches x 16 prompts x 8, lr ${a.lr}, sampling ${a.rollout}`);
  console.log('| seed | held-out greedy pass@1 before | after | delta (points) | batch reward first 5 -> last 5 | seconds |\n|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.seed} | ${pct(r.heldOutPassAt1Before)} | ${pct(r.heldOutPassAt1After)} | ${r.deltaPoints >= 0 ? '+' : ''}${r.deltaPoints.toFixed(1)} | ${r.rewardFirst5.toFixed(3)} -> ${r.rewardLast5.toFixed(3)} | ${r.seconds.toFixed(0)} |`);
} finally {
  await svc.close();
  await deprovision(bus).catch(() => undefined);
  await bus.close();
  await rm(home, { recursive: true, force: true });
}
