// reward-model jobs over a real gRPC socket and the real NATS server (isolated names), the model store in the
// same process as under `npm start`: bad input is INVALID_ARGUMENT naming the field before anything is queued;
// a small LoRA reward job trains end to end in its worker thread (TRL metrics per step, held-out accuracy),
// is stored in the model store as <output>@<jobId> before the ack, and is then served by Score and
// EvaluateRewardModel by its store ref; cancel; a non-finite loss fails the job with the step, keeping the
// last good checkpoint; pairs straight from the labeling database (labeling://<project>?round=<n>, SQLite under
// TUNELOOP_HOME, rows as the labeling app writes them). (Resume after a SIGKILL is covered once in libs/jobs.)
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { credentials, status } from '@grpc/grpc-js';
import { writeTinyBase } from '@tuneloop/adapter-trainer';
import { connectBus, deprovision, jobsKv, provision, type Bus } from '@tuneloop/bus';
import { checkpointDir, readCheckpoint } from '@tuneloop/jobs';
import { modelStore } from '@tuneloop/model-store';
import { HealthClient, JobStatus, StartRewardTrainingRequest, type JobEvent } from '@tuneloop/proto';
import { startTestServices, type TestServices } from '@tuneloop/service-kit';
import { openStore } from '@tuneloop/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rewardModel } from '../src/service.ts';
import { additionPairs, errorOf, rmApi, rmClient, until, watchJob } from './grpc-util.ts';

const prefix = `t${randomUUID().slice(0, 8)}`;
let svc: TestServices;
let bus: Bus;
let home: string;
let client: ReturnType<typeof rmClient>;
let api: ReturnType<typeof rmApi>;

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'tuneloop-rmjobs-'));
  await writeTinyBase(path.join(home, 'models', 'tiny'));
  await writeFile(path.join(home, 'prefs.jsonl'), additionPairs(64, 1));
  await writeFile(path.join(home, 'heldout.jsonl'), additionPairs(24, 9));
  bus = await connectBus({ url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'rm-jobs-test', prefix });
  await provision(bus, { prefix, storage: 'memory' });
  svc = await startTestServices([modelStore, rewardModel], { TUNELOOP_HOME: home, TUNELOOP_NATS_PREFIX: prefix });
  client = rmClient(svc.target);
  api = rmApi(client);
});

afterAll(async () => {
  client?.close();
  await svc?.close();
  await deprovision(bus).catch(() => undefined);
  await bus?.close();
  await rm(home, { recursive: true, force: true });
});

/** Milliseconds a health check of the reward-model service takes (on an open channel: one request, one answer). */
function health(h: HealthClient): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => h.check({ service: 'tuneloop.v1.RewardModelService' }, (err) => {
    if (err) reject(err);
    else resolve(performance.now() - t0);
  }));
}

const jobsInStream = async () => (await bus.jsm.streams.info(bus.names.streams.jobs)).state.messages;

function request(over: { spec?: object; training?: object; options?: object; data?: string; margin?: number } = {}): StartRewardTrainingRequest {
  return StartRewardTrainingRequest.fromPartial({
    spec: {
      baseModel: { name: 'tiny' },
      dataset: { uri: over.data ?? 'prefs.jsonl' },
      training: { learningRate: 0.02, maxSteps: 30, batchSize: 8, seed: 1, ...over.training },
      method: { $case: 'lora', value: { r: 4, alpha: 8, dropout: 0, targetModules: [], useRslora: false } },
      objective: { $case: 'reward', value: { margin: over.margin ?? 0 } },
      ...over.spec,
    },
    options: { checkpointEvery: 10, evalEvery: 10, evalDataset: { uri: 'heldout.jsonl', format: 0 }, ...over.options },
  });
}

describe('reward-model jobs: bad input before training', () => {
  const line = (o: object) => JSON.stringify(o);
  it.each([
    ['chosen == rejected (line number)', request({ data: 'same.jsonl' }), /spec\.dataset\.uri: same\.jsonl: line 2: "chosen" and "rejected" are identical/],
    ['an empty response', request({ data: 'empty.jsonl' }), /spec\.dataset\.uri: empty\.jsonl: line 3: "rejected": must not be empty/],
    ['a line that is not JSON', request({ data: 'broken.jsonl' }), /spec\.dataset\.uri: broken\.jsonl: line 2: /],
    ['a missing file', request({ data: 'nope.jsonl' }), /spec\.dataset\.uri: .*nope\.jsonl/],
    ['an unknown base model', request({ spec: { baseModel: { name: 'no-such-base', version: '' } } }), /spec\.base_model: unknown model "no-such-base"/],
    ['a negative margin', request({ margin: -1 }), /spec\.reward\.margin: must be in \[0, 10\], got -1/],
    ['a margin above the limit', request({ margin: 11 }), /spec\.reward\.margin: must be in \[0, 10\], got 11/],
    ['a method other than lora / full', request({ spec: { method: { $case: 'vera', value: { r: 4, projectionSeed: 0, dInitial: 0.1, targetModules: [] } } } }), /spec\.method: a reward model trains with lora or full, got vera/],
    ['a target module the model lacks', request({ spec: { method: { $case: 'lora', value: { r: 4, alpha: 8, dropout: 0, targetModules: ['foo_proj'], useRslora: false } } } }), /spec\.lora: .*foo_proj/],
    ['another objective', request({ spec: { objective: { $case: 'dpo', value: { beta: 0.1, lossType: 0, labelSmoothing: 0 } } } }), /spec\.objective: the reward-model service trains the reward objective, got dpo/],
    ['a learning rate above the limit', request({ training: { learningRate: 5 } }), /spec\.training\.learning_rate: must be in \(0, 1\], got 5/],
    ['a schedule other than cosine', request({ training: { lrScheduler: 'linear' } }), /spec\.training\.lr_scheduler: reward-model jobs use warmup then cosine, got "linear"/],
    ['gradient accumulation', request({ training: { gradientAccumulationSteps: 4 } }), /spec\.training\.gradient_accumulation_steps: is not supported/],
    ['an init adapter', request({ spec: { initAdapter: { name: 'x', version: '1' } } }), /spec\.init_adapter: continuing from an adapter is not supported/],
    ['an eval fraction leaving nothing', request({ options: { evalDataset: undefined, evalFraction: 0.95 } }), /options\.eval_fraction: must be in \[0, 0\.9\], got 0\.95/],
  ])('%s: INVALID_ARGUMENT, nothing queued', async (_what, req, re) => {
    const ok = line({ prompt: '1+1=', chosen: '2', rejected: '3 no' });
    await writeFile(path.join(home, 'same.jsonl'), `${ok}\n${line({ prompt: '1+2=', chosen: '3', rejected: '3' })}\n`);
    await writeFile(path.join(home, 'empty.jsonl'), `${ok}\n${ok}\n${line({ prompt: '1+2=', chosen: '3', rejected: '' })}\n`);
    await writeFile(path.join(home, 'broken.jsonl'), `${ok}\n{"prompt": "1+1=",\n`);
    const err = await errorOf(api.start(req));
    expect(err.code, err.details).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(re);
    expect(await jobsInStream()).toBe(0);
    expect(await (await jobsKv(bus)).keys()).toEqual([]);
  });
});

describe('reward-model jobs: train, store, score, evaluate', () => {
  let jobId = '';
  let finalEval = NaN;

  it('trains a LoRA reward model in a worker thread and stores it in the model store before the ack', async () => {
    const t0 = performance.now();
    const { job } = await api.start(request());
    jobId = job!.jobId;
    expect(job!.status).toBe(JobStatus.QUEUED);
    const events = await watchJob(client, jobId);
    const last = events.at(-1)!;
    expect(last.status, last.message).toBe(JobStatus.SUCCEEDED);
    const steps = events.filter((e) => e.step > 0 && e.loss > 0);
    expect(steps.map((e) => e.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    for (const k of ['rewards/accuracies', 'rewards/margins', 'rewards/chosen', 'rewards/rejected', 'grad_norm', 'eta_seconds']) expect(steps[5].metrics[k], k).toBeTypeOf('number');
    expect(steps[0].learningRate).toBeGreaterThan(0);
    const evals = steps.filter((e) => e.metrics.eval_accuracy !== undefined).map((e) => e.step);
    expect(evals).toEqual([10, 20, 30]);
    finalEval = steps.at(-1)!.metrics.eval_accuracy;
    const ready = events.find((e) => e.message === 'started')!;
    expect(ready.metrics.eval_pairs).toBe(24);
    // the reward model learns: held-out accuracy up, training loss down
    expect(finalEval).toBeGreaterThan(ready.metrics.eval_accuracy);
    expect(finalEval).toBeGreaterThanOrEqual(0.75);
    const lossOf = (xs: JobEvent[]) => xs.reduce((a, e) => a + e.loss, 0) / xs.length;
    expect(lossOf(steps.slice(-5))).toBeLessThan(lossOf(steps.slice(0, 5)));
    expect(last.message).toBe(`reward model stored as tiny-rm@${jobId} (held-out accuracy ${(100 * finalEval).toFixed(1)}%)`);
    const done = (await api.get(jobId)).job!;
    expect(done.output).toEqual({ name: 'tiny-rm', version: jobId });
    expect(existsSync(path.join(home, 'jobs', jobId, 'checkpoint', 'trainer_state.json'))).toBe(true);
    const dir = path.join(home, 'reward-models', 'tiny-rm', jobId);
    const info = JSON.parse(await readFile(path.join(dir, 'reward_model.json'), 'utf8'));
    expect(info).toMatchObject({ jobId, method: 'lora', steps: 30, evalPairs: 24, evalAccuracy: finalEval });
    await until(async () => (await jobsInStream()) === 0, 5000, 'the ack');
    expect(performance.now() - t0).toBeLessThan(40_000);
  }, 60_000);

  it('Score and EvaluateRewardModel load the job-trained model by its model-store ref', async () => {
    expect(jobId).not.toBe('');
    const items = [{ prompt: '2+2=', completion: '4' }, { prompt: '2+2=', completion: '6' }];
    const byRef = await api.score({ rewardModel: { name: 'tiny-rm', version: jobId }, items });
    expect(byRef.scores).toHaveLength(2);
    expect(byRef.scores[0]).toBeGreaterThan(byRef.scores[1]);
    // the same model as a local folder (the form `tuneloop reward train --out` writes) scores the same
    const byFolder = await api.score({ rewardModel: { name: path.join(home, 'reward-models', 'tiny-rm', jobId), version: '' }, items });
    byFolder.scores.forEach((s, i) => expect(s).toBeCloseTo(byRef.scores[i], 5));
    expect(existsSync(path.join(home, 'cache', 'models', `tiny-rm@${jobId}`, 'score.safetensors'))).toBe(true);
    const ev = await api.evaluate({ rewardModel: { name: 'tiny-rm', version: jobId }, dataset: { uri: 'heldout.jsonl', format: 0 } });
    expect(ev.pairs).toBe(24);
    expect(ev.accuracy).toBeCloseTo(finalEval, 6);
    expect(ev.meanMargin).toBeGreaterThan(0);
    // a larger evaluation yields between batches: health checks are answered while it runs. The server and this
    // client share one event loop, so a check waits for a batch per loop turn it needs: its latency scales with the
    // machine's load, and only its ratio to the evaluation's time says whether the batches yield (a loop blocked
    // for the whole evaluation would hold one check for nearly all of it). One open channel: a check is one
    // request and one answer (a new channel per check also needs its connect and HTTP/2 handshake turns).
    await writeFile(path.join(home, 'big.jsonl'), additionPairs(640, 11));
    const h = new HealthClient(svc.target, credentials.createInsecure());
    await health(h);
    let evaluating = true;
    const probes: number[] = [];
    const t0 = performance.now();
    const big = api.evaluate({ rewardModel: { name: 'tiny-rm', version: jobId }, dataset: { uri: 'big.jsonl', format: 0 } }).finally(() => (evaluating = false));
    while (evaluating) probes.push(await health(h));
    h.close();
    const evalMs = performance.now() - t0;
    expect((await big).pairs).toBe(640);
    expect(probes.length).toBeGreaterThan(2); // answered one after another while the evaluation ran
    // measured: the longest check took 0.17-0.29 of the evaluation (2-3 s; load 6-7, two test runs at once)
    expect(Math.max(...probes), JSON.stringify({ evalMs, probes })).toBeLessThan(evalMs * 0.6);
    const missing = await errorOf(api.score({ rewardModel: { name: 'tiny-rm', version: 'nope' }, items }));
    expect(missing.code).toBe(status.NOT_FOUND);
    await writeFile(path.join(home, 'same.jsonl'), `${JSON.stringify({ prompt: '1+1=', chosen: '2', rejected: '3' })}\n${JSON.stringify({ prompt: '1+2=', chosen: '3', rejected: '3' })}\n`);
    const badData = await errorOf(api.evaluate({ rewardModel: { name: 'tiny-rm', version: jobId }, dataset: { uri: 'same.jsonl', format: 0 } }));
    expect([badData.code, badData.details]).toEqual([status.INVALID_ARGUMENT, 'dataset.uri: same.jsonl: line 2: "chosen" and "rejected" are identical (a pair must differ)']);
  });

  it('cancels a running job: the watch ends CANCELLED and nothing is stored', async () => {
    const { job } = await api.start(request({ training: { maxSteps: 5000 }, spec: { outputName: 'cancelled-rm' } }));
    let cancelled = false;
    const events = await watchJob(client, job!.jobId, async (e) => {
      if (!cancelled && e.step >= 2) {
        cancelled = true;
        expect((await api.cancel(job!.jobId)).job!.status).toBe(JobStatus.CANCELLED);
      }
    });
    expect(events.at(-1)!.status, events.at(-1)!.message).toBe(JobStatus.CANCELLED);
    await until(async () => (await jobsInStream()) === 0, 10_000, 'the cancelled job to be acked');
    expect(existsSync(path.join(home, 'reward-models', 'cancelled-rm'))).toBe(false);
  }, 30_000);

  it('a non-finite loss fails the job with the step and the reason; the last good checkpoint stays', async () => {
    // one pair's margin (1e39) overflows float32: the loss of the step that draws it is infinite
    const good = additionPairs(15, 4).trim().split('\n');
    good.splice(9, 0, JSON.stringify({ prompt: '3+3=', chosen: '6', rejected: '8', margin: 1e39 })); // drawn in step 3 with seed 4
    await writeFile(path.join(home, 'overflow.jsonl'), good.join('\n') + '\n');
    const { job } = await api.start(request({ data: 'overflow.jsonl', margin: 1, training: { maxSteps: 40, batchSize: 2, seed: 4 }, options: { checkpointEvery: 1, evalEvery: 0 } }));
    const events = await watchJob(client, job!.jobId);
    const last = events.at(-1)!;
    expect(last.status).toBe(JobStatus.FAILED);
    const m = /^step (\d+): loss is (Infinity|NaN)$/.exec(last.message);
    expect(m, last.message).not.toBeNull();
    const failedAt = Number(m![1]);
    expect((await api.get(job!.jobId)).job!.error).toBe(last.message);
    expect(Math.max(...events.map((e) => e.step))).toBe(failedAt - 1);
    expect(failedAt).toBe(3);
    const ck = await readCheckpoint(checkpointDir(home, job!.jobId));
    expect(ck?.state.step).toBe(failedAt - 1);
    for (const w of ck!.state.weights.values()) expect(w.data.every(Number.isFinite)).toBe(true);
    await until(async () => (await jobsInStream()) === 0, 5000, 'the failed job to be acked');
  }, 30_000);
});

/** A labeling project in the SQLite file under `home`, as the app writes it: comparisons of 2 responses ranked by one annotator. */
async function seedLabeling(dbHome: string, rounds: Record<number, number>): Promise<string> {
  const store = await openStore({ url: process.env.TUNELOOP_DATABASE_URL || undefined, home: dbHome }); // where the service reads
  const db = store.db;
  const now = Date.now();
  const pid = `p-${randomUUID().slice(0, 8)}`;
  await db.insertInto('projects').values({ id: pid, name: 'rm job prefs', guidelines: '', annotators_per_item: 1, k: 2, current_round: 2, created_at: now }).execute();
  await db.insertInto('users').values({ id: `${pid}-u1`, email: `${pid}-u1@t`, password_hash: 'h', role: 'annotator', created_at: now }).execute();
  let t = now;
  for (const [round, n] of Object.entries(rounds)) {
    for (let i = 0; i < n; i++) {
      const a = i % 5;
      const b = Math.floor(i / 5) % 5;
      const cid = `${pid}-r${round}-c${i}`;
      t += 1;
      await db.insertInto('comparisons').values({ id: cid, project_id: pid, round: Number(round), prompt_kind: 'text', prompt: `${a}+${b}=`, responses: JSON.stringify([String(a + b + 2), String(a + b)]), open_slots: 0, source_line: i + 1, created_at: now }).execute();
      await db.insertInto('rankings').values({ id: `${cid}-u1`, assignment_id: `a-${cid}`, comparison_id: cid, project_id: pid, user_id: `${pid}-u1`, round: Number(round), ranking: JSON.stringify([[1], [0]]), both_bad: 0, strength: 'much', comment: null, response_order: '[0,1]', duration_ms: 10, created_at: t }).execute();
      await db.insertInto('preference_pairs').values({ id: `${cid}-u1-0`, ranking_id: `${cid}-u1`, comparison_id: cid, project_id: pid, user_id: `${pid}-u1`, round: Number(round), chosen_index: 1, rejected_index: 0, margin: 1, strength: 'much', created_at: t }).execute();
    }
  }
  await store.close();
  return pid;
}

describe('reward-model jobs: pairs from the labeling database', () => {
  it('trains on labeling://<project>?round=<n> (that round only); an unknown project is refused before queueing', async () => {
    const pid = await seedLabeling(home, { 1: 12, 2: 20 });
    const { job } = await api.start(request({ data: `labeling://${pid}?round=2`, training: { maxSteps: 4 }, spec: { outputName: 'labeled-rm' }, options: { evalDataset: undefined, evalFraction: 0.25, checkpointEvery: 0 } }));
    const events = await watchJob(client, job!.jobId);
    const last = events.at(-1)!;
    expect(last.status, last.message).toBe(JobStatus.SUCCEEDED);
    const ready = events.find((e) => e.message === 'started')!;
    expect([ready.metrics.train_pairs, ready.metrics.eval_pairs]).toEqual([15, 5]);
    expect(last.message).toMatch(new RegExp(`^reward model stored as labeled-rm@${job!.jobId} `));
    const err = await errorOf(api.start(request({ data: 'labeling://no-such-project?round=1' })));
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toMatch(/^spec\.dataset\.uri: /);
    await until(async () => (await jobsInStream()) === 0, 5000, 'the ack');
  }, 30_000);
});
