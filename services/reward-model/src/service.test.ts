// reward-model on a real port: health SERVING; Score on a reward-model folder under TUNELOOP_HOME matches the
// library, serves 32 concurrent callers, and answers RESOURCE_EXHAUSTED / INVALID_ARGUMENT / NOT_FOUND (without
// a JOBS stream the training worker is left out; training jobs are tested in test/jobs.test.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import {
  ScoreRequest,
  ScoreResponse,
  RewardModelServiceClient,
  HealthCheckResponse_ServingStatus,
  HealthClient,
} from '@tuneloop/proto';
import { createRng, initBackend } from '@tuneloop/engine';
import { ARITH_SMALL, arithModelConfig, arithTokenizer, CausalLM, initWeights, rawFromTensors, RewardModel, serializeSafetensors } from '@tuneloop/model';
import { saveModel } from '@tuneloop/files';
import { scoreResponses } from '@tuneloop/objectives';
import { startTestServices, type TestServices } from '@tuneloop/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_NAME, rewardModel } from './service.ts';

let svc: TestServices;
let home: string;
let client: RewardModelServiceClient;
let expected: number[];

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'tuneloop-rm-'));
  await initBackend({ quiet: true });
  const tok = arithTokenizer();
  const cfg = arithModelConfig({ ...ARITH_SMALL, hiddenSize: 32, numLayers: 1, intermediateSize: 64 }, tok);
  const w = initWeights(cfg, createRng(1));
  const trunk = new CausalLM(cfg, w);
  tf.dispose([...w.values()]);
  const rmodel = new RewardModel(trunk, { seed: 3 });
  const head = rmodel.namedHead();
  const dir = join(home, 'models', 'tiny-rm');
  await saveModel(dir, trunk, { tokenizer: tok, extraFiles: { 'score.safetensors': serializeSafetensors(rawFromTensors(head)) } });
  expected = scoreResponses(rmodel, tok, '12+34=', ['46', '47 ok']);
  tf.dispose([...head.values()]);
  rmodel.dispose();
  trunk.dispose();
  svc = await startTestServices([rewardModel], { TUNELOOP_HOME: home });
  client = new RewardModelServiceClient(svc.target, credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  await svc?.close();
  await rm(home, { recursive: true, force: true });
});

const score = (req: Partial<ScoreRequest>) =>
  new Promise<{ err: ServiceError | null; res?: ScoreResponse }>((resolve) => client.score(ScoreRequest.fromPartial(req), (err, res) => resolve({ err, res })));
const items = (n: number, completion = '46') => Array.from({ length: n }, () => ({ prompt: '12+34=', completion }));

describe('reward-model service', () => {
  it('answers health SERVING on its real port', async () => {
    const health = new HealthClient(svc.target, credentials.createInsecure());
    const res = await new Promise<{ status: number }>((resolve, reject) =>
      health.check({ service: SERVICE_NAME }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    health.close();
    expect(SERVICE_NAME).toBe('tuneloop.v1.RewardModelService');
    expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it('Score returns the library scores, in order, to 32 concurrent callers', async () => {
    const req = { rewardModel: { name: 'tiny-rm', version: '' }, items: [{ prompt: '12+34=', completion: '46' }, { prompt: '12+34=', completion: '47 ok' }] };
    const all = await Promise.all(Array.from({ length: 32 }, () => score(req)));
    for (const { err, res } of all) {
      expect(err).toBeNull();
      expect(res!.scores).toHaveLength(2);
      res!.scores.forEach((s, i) => expect(s).toBeCloseTo(expected[i], 4));
    }
  });

  it('answers RESOURCE_EXHAUSTED beyond the batch and length limits, INVALID_ARGUMENT and NOT_FOUND on bad input', async () => {
    const big = await score({ rewardModel: { name: 'tiny-rm', version: '' }, items: items(65) });
    expect([big.err?.code, big.err?.details]).toEqual([status.RESOURCE_EXHAUSTED, 'responses: at most 64 per request, got 65']);
    const long = await score({ rewardModel: { name: 'tiny-rm', version: '' }, items: items(1, '1'.repeat(80)) });
    expect(long.err?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(long.err?.details).toContain('above the limit of 64');
    const empty = await score({ rewardModel: { name: 'tiny-rm', version: '' }, items: items(2, '') });
    expect([empty.err?.code, empty.err?.details]).toEqual([status.INVALID_ARGUMENT, 'items[0].completion: must not be empty']);
    const none = await score({ rewardModel: { name: 'no-such-rm', version: '' }, items: items(1) });
    expect(none.err?.code).toBe(status.NOT_FOUND);
  });
});
