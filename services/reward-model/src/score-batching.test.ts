// Score batching over real gRPC: 32 concurrent callers on a real port share forward passes (fewer passes than
// requests, several requests in one pass) and get the same scores as with batching off (TUNELOOP_SCORE_BATCHING=off:
// exactly one pass per request); a bad TUNELOOP_SCORE_* value stops the service at start, naming the variable.
// Counts, not timings: the timings are in bench/score-grpc.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { credentials } from '@grpc/grpc-js';
import { ScoreRequest, RewardModelServiceClient } from '@tuneloop/proto';
import { createRng, initBackend } from '@tuneloop/engine';
import { ARITH_SMALL, arithModelConfig, arithTokenizer, CausalLM, initWeights, rawFromTensors, RewardModel, serializeSafetensors } from '@tuneloop/model';
import { saveModel } from '@tuneloop/files';
import { startTestServices } from '@tuneloop/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rewardModel } from './service.ts';
import { scoreLimitsFromEnv, scoreStats } from './scorer.ts';

let home: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'tuneloop-rm-batch-'));
  await initBackend({ quiet: true });
  const tok = arithTokenizer();
  const cfg = arithModelConfig({ ...ARITH_SMALL, hiddenSize: 32, numLayers: 1, intermediateSize: 64 }, tok);
  const w = initWeights(cfg, createRng(1));
  const trunk = new CausalLM(cfg, w);
  tf.dispose([...w.values()]);
  const rmodel = new RewardModel(trunk, { seed: 3 });
  const head = rmodel.namedHead();
  await saveModel(join(home, 'models', 'tiny-rm'), trunk, { tokenizer: tok, extraFiles: { 'score.safetensors': serializeSafetensors(rawFromTensors(head)) } });
  tf.dispose([...head.values()]);
  rmodel.dispose();
  trunk.dispose();
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

/** Starts the service with `env` set in process.env while it starts (the scorer reads TUNELOOP_SCORE_* then). */
async function withService<T>(env: Record<string, string>, fn: (client: RewardModelServiceClient) => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  let svc;
  try {
    svc = await startTestServices([rewardModel], { TUNELOOP_HOME: home });
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  const client = new RewardModelServiceClient(svc.target, credentials.createInsecure());
  try {
    return await fn(client);
  } finally {
    client.close();
    await svc.close();
  }
}

const CALLERS = 32;
const request = (c: number) =>
  // sequences of one length (9 tokens), so a flush is one forward pass (length grouping: score-batcher.test.ts)
  ScoreRequest.fromPartial({ rewardModel: { name: 'tiny-rm', version: '' }, items: [{ prompt: `${10 + c}+1=`, completion: `${11 + c}` }, { prompt: `${10 + c}+1=`, completion: `${12 + c}` }] });

/** 32 concurrent gRPC callers, one request each (after one warm-up call that loads the model). */
async function burst(client: RewardModelServiceClient) {
  const one = (c: number) => new Promise<number[]>((resolve, reject) => client.score(request(c), (err, res) => (err ? reject(err) : resolve(res!.scores))));
  await one(0);
  const before = scoreStats();
  const scores = await Promise.all(Array.from({ length: CALLERS }, (_, c) => one(c)));
  const after = scoreStats();
  return { scores, passes: after.batches - before.batches, requests: after.requests - before.requests, largestBatch: after.largestBatch };
}

describe('Score batching over gRPC', () => {
  it('merges concurrent callers into fewer forward passes, with the same scores as one pass per request', async () => {
    const on = await withService({ TUNELOOP_SCORE_MAX_WAIT_MS: '20' }, burst);
    const off = await withService({ TUNELOOP_SCORE_BATCHING: 'off' }, burst);
    expect(on.requests).toBe(CALLERS);
    expect(off.requests).toBe(CALLERS);
    expect(off.passes).toBe(CALLERS);
    expect(off.largestBatch).toBe(2);
    expect(on.passes).toBeLessThan(CALLERS / 2);
    expect(on.largestBatch).toBeGreaterThanOrEqual(8); // at least 4 requests of 2 responses in one pass
    on.scores.forEach((s, c) => s.forEach((x, i) => expect(x).toBeCloseTo(off.scores[c][i], 4)));
  });

  it('a bad TUNELOOP_SCORE_* value stops the service at start, naming the variable', async () => {
    await expect(withService({ TUNELOOP_SCORE_BATCHING: 'maybe' }, async () => undefined)).rejects.toThrow('TUNELOOP_SCORE_BATCHING: must be on or off, got "maybe"');
    expect(() => scoreLimitsFromEnv({ TUNELOOP_SCORE_MAX_BATCH: '0' })).toThrow('TUNELOOP_SCORE_MAX_BATCH: must be an integer 1-4096, got "0"');
    expect(() => scoreLimitsFromEnv({ TUNELOOP_SCORE_MAX_WAIT_MS: '-1' })).toThrow('TUNELOOP_SCORE_MAX_WAIT_MS: must be a number 0-1000, got "-1"');
    expect(scoreLimitsFromEnv({})).toEqual({ maxBatchSize: 64, maxSequenceLength: 512, maxQueuedSequences: 4096, maxWaitMs: 2 });
    expect(scoreLimitsFromEnv({ TUNELOOP_SCORE_BATCHING: 'off', TUNELOOP_SCORE_MAX_BATCH: '16' })).toMatchObject({ maxBatchSize: 16, maxWaitMs: 0, maxRequestsPerBatch: 1, maxPadFraction: Infinity });
  });
});
