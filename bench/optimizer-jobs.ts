// Preference-optimizer jobs end to end through the real service (gRPC on a port, NATS work queues, the model store
// in the same process as under `npm start`): a DPO job on the synthetic preference task (CI slice, 10% annotator
// noise) and a GRPO job on one-digit sums with the numeric verifier, from a base model imported into the store.
// Reports job wall time, time to the first step (thread start, model pull, reference log-probs), seconds per step
// and the eval metrics the jobs publish (DPO: eval_rewards/accuracies on the held-out split; GRPO: greedy pass@1
// on held-out prompts before / after).
//   npx tsx bench/optimizer-jobs.ts [--base .tuneloop/models/tiny-arith] [--dpo-steps 100] [--grpo-steps 20] [--lr 1e-3]
//        [--grpo-rollout local|service] [--skip-dpo]
// --grpo-rollout service: the GRPO job samples on the rollout service (its in-process worker), the adapter synced
// through the model store every batch (the step metrics then carry sync_seconds and rollout_seconds).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connectBus, deprovision, provision } from '@tuneloop/bus';
import { preferenceTask, simulatedAnnotator } from '@tuneloop/datasets';
import { createRng } from '@tuneloop/engine';
import { connectStore, modelStore } from '@tuneloop/model-store';
import { preferenceOptimizer } from '@tuneloop/preference-optimizer';
import { DpoLossType, StartOptimizationRequest, type JobEvent, PreferenceOptimizerServiceClient } from '@tuneloop/proto';
import { rollout } from '@tuneloop/rollout';
import { startTestServices } from '@tuneloop/service-kit';
import { credentials } from '@grpc/grpc-js';
import { writeResult } from './results.ts';
import { importModel } from './store.ts';

const { values: a } = parseArgs({
  options: {
    base: { type: 'string', default: '.tuneloop/models/tiny-arith' },
    'dpo-steps': { type: 'string', default: '100' },
    'grpo-steps': { type: 'string', default: '20' },
    lr: { type: 'string', default: '1e-3' },
    'grpo-lr': { type: 'string', default: '3e-3' },
    pairs: { type: 'string', default: '800' },
    'grpo-rollout': { type: 'string', default: 'local' },
    'skip-dpo': { type: 'boolean', default: false },
  },
});

async function runJob(client: PreferenceOptimizerServiceClient, req: StartOptimizationRequest) {
  const t0 = performance.now();
  const job = await new Promise<{ jobId: string }>((resolve, reject) => client.startOptimization(req, (e, r) => (e ? reject(e) : resolve(r.job!))));
  const events: (JobEvent & { at: number })[] = [];
  for await (const m of client.watchOptimizationJob({ jobId: job.jobId }) as AsyncIterable<{ event?: JobEvent }>) if (m.event) events.push({ ...m.event, at: performance.now() });
  const steps = events.filter((e) => e.step > 0 && e.metrics.loss !== undefined && e.metrics.attempt === 1);
  const ready = events.find((e) => e.message === 'started');
  const last = events.at(-1)!;
  return {
    jobId: job.jobId,
    final: last.message,
    wallSeconds: (performance.now() - t0) / 1000,
    secondsToFirstStep: steps.length ? (steps[0].at - t0) / 1000 : null,
    secondsPerStep: steps.length > 1 ? (steps.at(-1)!.at - steps[0].at) / 1000 / (steps.length - 1) : null,
    ready: ready?.metrics ?? {},
    first: steps[0]?.metrics ?? {},
    last: steps.at(-1)?.metrics ?? {},
    stepMetrics: steps.map((e) => e.metrics),
  };
}

const home = await mkdtemp(path.join(os.tmpdir(), 'tuneloop-optimizer-bench-'));
const prefix = `b${randomUUID().slice(0, 8)}`;
const bus = await connectBus({ url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'optimizer-bench', prefix });
await provision(bus, { prefix, storage: 'memory' });
const onService = a['grpo-rollout'] === 'service';
const svc = await startTestServices(onService ? [modelStore, rollout, preferenceOptimizer] : [modelStore, preferenceOptimizer], { TUNELOOP_HOME: home, TUNELOOP_NATS_PREFIX: prefix });
try {
  const store = connectStore(svc.target);
  const base = await importModel(store, path.resolve(a.base!), 'bench-base');
  store.close();
  // DPO data: the CI slice of the synthetic preference task, labelled by a simulated annotator with 10% noise
  const annotator = simulatedAnnotator({ seed: 3, noise: 0.1 });
  const pairs = preferenceTask({ seed: 1, count: Number(a.pairs), split: 'train', kindWeights: { 'correct-rambling': 2, 'wrong-close': 1, 'wrong-far': 1 } }).map((p) => {
    const l = annotator.label(p.prompt, p.better, p.worse);
    return { prompt: l.prompt, chosen: l.chosen, rejected: l.rejected };
  });
  await writeFile(path.join(home, 'prefs.jsonl'), pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
  // GRPO prompts: one-digit sums, 70 train / 30 held out (seeded)
  const sums = createRng(5).shuffle(Array.from({ length: 100 }, (_, i) => [Math.floor(i / 10), i % 10]));
  const rows = sums.map(([x, y]) => JSON.stringify({ prompt: `${x}+${y}=`, answer: String(x + y) }));
  await writeFile(path.join(home, 'prompts.jsonl'), rows.slice(0, 70).join('\n') + '\n');
  await writeFile(path.join(home, 'held-out.jsonl'), rows.slice(70).join('\n') + '\n');
  const client = new PreferenceOptimizerServiceClient(svc.target, credentials.createInsecure());
  const ref = { name: base.ref!.name, version: base.ref!.version };
  const dpo = a['skip-dpo'] ? undefined : await runJob(client, StartOptimizationRequest.fromPartial({
    spec: {
      baseModel: ref, dataset: { uri: 'prefs.jsonl' }, training: { learningRate: Number(a.lr), maxSteps: Number(a['dpo-steps']), batchSize: 16, seed: 1 },
      objective: { $case: 'dpo', value: { beta: 0.1, lossType: DpoLossType.SIGMOID, labelSmoothing: 0 } },
    },
    options: { rank: 8, evalFraction: 0.1, checkpointEvery: 25 },
  }));
  const grpo = await runJob(client, StartOptimizationRequest.fromPartial({
    spec: {
      baseModel: ref, dataset: { uri: 'prompts.jsonl', format: 5 }, training: { learningRate: Number(a['grpo-lr']), maxSteps: Number(a['grpo-steps']), batchSize: 8, seed: 1 },
      objective: { $case: 'grpo', value: { groupSize: 8, verifier: { json: '{"type":"numeric"}' }, sampling: { maxNewTokens: 4 } } },
    },
    options: { rank: 8, evalDataset: { uri: 'held-out.jsonl', format: 5 }, checkpointEvery: 10, rollout: a['grpo-rollout'] },
  }));
  client.close();
  const mean = (k: string) => (grpo.stepMetrics.length ? grpo.stepMetrics.reduce((t, m) => t + (m[k] ?? 0), 0) / grpo.stepMetrics.length : null);
  const result = {
    when: new Date().toISOString(), base: a.base, params: base.parameterCount, host: `${os.cpus().length} cpus, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`,
    ...(dpo ? { dpo: { steps: Number(a['dpo-steps']), lr: Number(a.lr), pairs: pairs.length, ...dpo } } : {}),
    grpo: { steps: Number(a['grpo-steps']), lr: Number(a['grpo-lr']), rollout: a['grpo-rollout'], ...grpo, meanSyncSeconds: mean('sync_seconds'), meanRolloutSeconds: mean('rollout_seconds') },
  };
  console.log(JSON.stringify(result, null, 2));
  console.error(`wrote ${writeResult('optimizer-jobs', result)}`);
} finally {
  await svc.close();
  await deprovision(bus).catch(() => undefined);
  await bus.close();
  await rm(home, { recursive: true, force: true });
}
