// A reward-model training job end to end through the real service (gRPC on a port, the NATS work queue, the model
// store in the same process as under `npm start`): the base imported into the store and named by its store ref,
// pairs of the synthetic preference task labelled by a simulated annotator with 10% noise (margin = score gap),
// held-out pairs from the eval prompts with the ground-truth order. Reports job wall time, time to the first step
// (thread start, model pull, data), seconds per step, the held-out accuracy the job publishes, then
// EvaluateRewardModel on the held-out file and one Score call by the stored ref.
//   npx tsx bench/reward-job.ts [--base .tuneloop/models/tiny-arith] [--task slice|full] [--steps 100] [--lr 3e-3]
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import { connectBus, deprovision, provision } from '@tuneloop/bus';
import { preferenceTask, simulatedAnnotator, writePreferenceJsonl } from '@tuneloop/datasets';
import { connectStore, modelStore } from '@tuneloop/model-store';
import { RewardModelServiceClient, StartRewardTrainingRequest, type JobEvent } from '@tuneloop/proto';
import { rewardModel } from '@tuneloop/reward-model';
import { startTestServices } from '@tuneloop/service-kit';
import { writeResult } from './results.ts';
import { importModel } from './store.ts';

const { values: a } = parseArgs({
  options: {
    base: { type: 'string', default: '.tuneloop/models/tiny-arith' },
    task: { type: 'string', default: 'slice' },
    steps: { type: 'string', default: '100' },
    lr: { type: 'string', default: '3e-3' },
    pairs: { type: 'string', default: '800' },
    heldout: { type: 'string', default: '300' },
    rank: { type: 'string', default: '8' },
  },
});
const SLICE = { correct: 0, 'correct-rambling': 2, 'wrong-close': 1, 'wrong-far': 1, 'wrong-rambling': 0 };
const kindWeights = a.task === 'slice' ? SLICE : undefined;

const home = await mkdtemp(path.join(os.tmpdir(), 'tuneloop-reward-bench-'));
const prefix = `b${randomUUID().slice(0, 8)}`;
const bus = await connectBus({ url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'reward-bench', prefix });
await provision(bus, { prefix, storage: 'memory' });
const svc = await startTestServices([modelStore, rewardModel], { TUNELOOP_HOME: home, TUNELOOP_NATS_PREFIX: prefix });
try {
  const store = connectStore(svc.target);
  const base = await importModel(store, path.resolve(a.base!), 'bench-base');
  store.close();
  const train = simulatedAnnotator({ seed: 2, noise: 0.1 }).labelAll(preferenceTask({ seed: 1, count: Number(a.pairs), split: 'train', kindWeights }));
  const held = preferenceTask({ seed: 3, count: Number(a.heldout), split: 'eval', kindWeights }).map((p) => ({ prompt: p.prompt, chosen: p.better, rejected: p.worse }));
  await writeFile(path.join(home, 'prefs.jsonl'), writePreferenceJsonl(train));
  await writeFile(path.join(home, 'heldout.jsonl'), writePreferenceJsonl(held));
  const client = new RewardModelServiceClient(svc.target, credentials.createInsecure());
  const t0 = performance.now();
  const req = StartRewardTrainingRequest.fromPartial({
    spec: {
      baseModel: { name: base.ref!.name, version: base.ref!.version }, dataset: { uri: 'prefs.jsonl' },
      training: { learningRate: Number(a.lr), maxSteps: Number(a.steps), batchSize: 16, seed: 1 },
      method: { $case: 'lora', value: { r: Number(a.rank), alpha: 2 * Number(a.rank), dropout: 0, targetModules: [], useRslora: false } },
      objective: { $case: 'reward', value: { margin: 1 } },
    },
    options: { evalDataset: { uri: 'heldout.jsonl', format: 0 }, centerRewardsCoefficient: 0.01, evalEvery: 25, checkpointEvery: 25 },
  });
  const job = await new Promise<{ jobId: string }>((resolve, reject) => client.startRewardTraining(req, (e, r) => (e ? reject(e) : resolve(r.job!))));
  const events: (JobEvent & { at: number })[] = [];
  for await (const m of client.watchRewardJob({ jobId: job.jobId }) as AsyncIterable<{ event?: JobEvent }>) if (m.event) events.push({ ...m.event, at: performance.now() });
  const wall = (performance.now() - t0) / 1000;
  const steps = events.filter((e) => e.step > 0 && e.metrics['rewards/accuracies'] !== undefined);
  const ready = events.find((e) => e.message === 'started');
  const last = events.at(-1)!;
  const output = { name: `bench-base-rm`, version: job.jobId };
  const te = performance.now();
  const ev = await new Promise<{ accuracy: number; pairs: number; meanMargin: number }>((resolve, reject) =>
    client.evaluateRewardModel({ rewardModel: output, dataset: { uri: 'heldout.jsonl', format: 0 } }, (e, r) => (e ? reject(e) : resolve(r))));
  const evalSeconds = (performance.now() - te) / 1000;
  const ts = performance.now();
  const score = await new Promise<number[]>((resolve, reject) =>
    client.score({ rewardModel: output, items: [{ prompt: '12+34=', completion: '46' }, { prompt: '12+34=', completion: '47' }] }, (e, r) => (e ? reject(e) : resolve(r.scores))));
  const scoreSeconds = (performance.now() - ts) / 1000;
  client.close();
  const result = {
    when: new Date().toISOString(), base: a.base, params: base.parameterCount, task: a.task, trainPairs: train.length, heldoutPairs: held.length, noise: 0.1,
    steps: Number(a.steps), lr: Number(a.lr), rank: Number(a.rank), host: `${os.cpus().length} cpus, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`,
    final: last.message, wallSeconds: wall,
    secondsToFirstStep: steps.length ? (steps[0].at - t0) / 1000 : null,
    secondsPerStep: steps.length > 1 ? (steps.at(-1)!.at - steps[0].at) / 1000 / (steps.length - 1) : null,
    heldoutAccuracyBefore: ready?.metrics.eval_accuracy ?? null,
    heldoutAccuracyCurve: steps.filter((e) => e.metrics.eval_accuracy !== undefined).map((e) => [e.step, e.metrics.eval_accuracy]),
    evaluate: { ...ev, seconds: evalSeconds }, score: { scores: score, firstCallSeconds: scoreSeconds },
  };
  console.log(JSON.stringify(result, null, 2));
  console.error(`wrote ${writeResult('reward-job', result)}`);
} finally {
  await svc.close();
  await deprovision(bus).catch(() => undefined);
  await bus.close();
  await rm(home, { recursive: true, force: true });
}
