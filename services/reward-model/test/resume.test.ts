// A reward-model job thread resumed from its checkpoint continues exactly (weights, AdamW moments, step and the
// data order): the losses of the re-run steps equal those of the uninterrupted run. Full fine-tuning (every
// trunk weight + the head), run in process through the same function the worker thread runs.
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeTinyBase } from '@tuneloop/adapter-trainer';
import { initBackend } from '@tuneloop/engine';
import { checkpointDir, readCheckpoint, type JobThreadMessage } from '@tuneloop/jobs';
import { StartRewardTrainingRequest } from '@tuneloop/proto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { validateRewardRequest } from '../src/job-spec.ts';
import rewardJob from '../src/reward-thread.ts';
import { additionPairs } from './grpc-util.ts';

let home: string;
beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  home = await mkdtemp(path.join(os.tmpdir(), 'tuneloop-rmresume-'));
  await writeTinyBase(path.join(home, 'models', 'tiny'));
  await writeFile(path.join(home, 'prefs.jsonl'), additionPairs(40, 2));
});
afterAll(() => rm(home, { recursive: true, force: true }));

it('resumes a full fine-tuning reward job from its checkpoint with the same per-step losses', async () => {
  const req = StartRewardTrainingRequest.fromPartial({
    spec: { baseModel: { name: 'tiny' }, dataset: { uri: 'prefs.jsonl' }, training: { learningRate: 0.005, maxSteps: 10, batchSize: 4, seed: 5 }, method: { $case: 'full', value: {} } },
    options: { checkpointEvery: 6, evalFraction: 0.2 },
  });
  const spec = await validateRewardRequest(home, req, '');
  expect(spec.method).toBe('full');
  const run = async (jobId: string) => {
    const msgs: JobThreadMessage[] = [];
    await rewardJob({ jobId, home, spec, attempt: 1, checkpointDir: checkpointDir(home, jobId) }, (m) => msgs.push(m));
    return msgs;
  };
  const before = tf.memory().numTensors;
  const a = await run('rm-a');
  expect(tf.memory().numTensors).toBe(before);
  const ck = await readCheckpoint(checkpointDir(home, 'rm-a'));
  expect(ck?.state.step).toBe(6);
  // a second attempt of the "same" job: its checkpoint and its pairs are those of the first
  await cp(path.join(home, 'jobs', 'rm-a'), path.join(home, 'jobs', 'rm-b'), { recursive: true });
  const b = await run('rm-b');
  const stepsOf = (ms: JobThreadMessage[]) => ms.filter((m): m is Extract<JobThreadMessage, { type: 'step' }> => m.type === 'step');
  expect(b.find((m) => m.type === 'ready')).toMatchObject({ resumedFrom: 6 });
  const sa = stepsOf(a);
  const sb = stepsOf(b);
  expect(sb.map((m) => m.step)).toEqual([7, 8, 9, 10]);
  for (const m of sb) {
    const ref = sa.find((x) => x.step === m.step)!;
    expect(m.loss).toBeCloseTo(ref.loss, 5);
    expect(m.lr).toBeCloseTo(ref.lr, 10);
  }
  const doneA = a.at(-1) as Extract<JobThreadMessage, { type: 'done' }>;
  const doneB = b.at(-1) as Extract<JobThreadMessage, { type: 'done' }>;
  expect(doneB.metrics!.eval_accuracy).toBeCloseTo(doneA.metrics!.eval_accuracy, 6);
}, 60_000);
