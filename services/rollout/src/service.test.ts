// rollout on a real port, real NATS: health SERVING; Verify with verifier specs (and INVALID_ARGUMENT naming
// the field for an unknown verifier or an invalid JSON Schema); GenerateGroups through the in-process worker
// (G completions per prompt with token ids, per-token log-probs, finish reasons, rewards), and its bad input.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import * as tf from '@tensorflow/tfjs-core';
import { Kvm } from '@nats-io/kv';
import { connectBus, deprovision, provision, type Bus } from '@tuneloop/bus';
import { createRng, initBackend } from '@tuneloop/engine';
import { saveModel } from '@tuneloop/files';
import { ARITH_SMALL, arithModelConfig, arithTokenizer, CausalLM, initWeights } from '@tuneloop/model';
import {
  GenerateGroupsRequest,
  GenerateGroupsResponse,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  RolloutServiceClient,
  VerifyRequest,
  VerifyResponse,
} from '@tuneloop/proto';
import { startTestServices, type TestServices } from '@tuneloop/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultBucketName } from './dispatcher.ts';
import { SERVICE_NAME, rollout } from './service.ts';

const NATS = process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222';
const prefix = `T${Math.random().toString(16).slice(2, 10)}_`;
let svc: TestServices;
let bus: Bus;
let home: string;
let client: RolloutServiceClient;

beforeAll(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  home = await mkdtemp(path.join(tmpdir(), 'rollout-svc-'));
  const tok = arithTokenizer();
  const cfg = arithModelConfig({ ...ARITH_SMALL, hiddenSize: 32, numLayers: 1, intermediateSize: 64 }, tok);
  const w = initWeights(cfg, createRng(4));
  const m = new CausalLM(cfg, w);
  tf.dispose([...w.values()]);
  await saveModel(path.join(home, 'models', 'tiny'), m, { tokenizer: tok });
  m.dispose();
  bus = await connectBus({ url: NATS, name: 'rollout-svc-test', prefix });
  await provision(bus, { prefix, storage: 'memory' });
  svc = await startTestServices([rollout], { TUNELOOP_HOME: home, TUNELOOP_NATS_PREFIX: prefix, TUNELOOP_NATS_URL: NATS });
  client = new RolloutServiceClient(svc.target, credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await svc?.close();
  await new Kvm(bus.js).open(resultBucketName(bus)).then((kv) => kv.destroy()).catch(() => undefined);
  await deprovision(bus, { prefix }).catch(() => undefined);
  await bus.close();
  await rm(home, { recursive: true, force: true });
});

const verify = (req: Partial<VerifyRequest>) =>
  new Promise<{ err: ServiceError | null; res?: VerifyResponse }>((resolve) => client.verify(VerifyRequest.fromPartial(req), (err, res) => resolve({ err, res })));
const groups = (req: Partial<GenerateGroupsRequest>) =>
  new Promise<{ err: ServiceError | null; res?: GenerateGroupsResponse }>((resolve) =>
    client.generateGroups(GenerateGroupsRequest.fromPartial(req), (err, res) => resolve({ err, res })),
  );

describe('rollout service', () => {
  it('answers health SERVING on its real port', async () => {
    const health = new HealthClient(svc.target, credentials.createInsecure());
    const res = await new Promise<{ status: number }>((resolve, reject) =>
      health.check({ service: SERVICE_NAME }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    health.close();
    expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it('Verify scores items with a verifier spec', async () => {
    const { err, res } = await verify({
      verifierJson: JSON.stringify({ type: 'numeric' }),
      items: [{ prompt: '12+34=', completion: '46', reference: '46' }, { prompt: '12+34=', completion: '45', reference: '46' }, { prompt: 'x', completion: '1', reference: '' }],
    });
    expect(err).toBeNull();
    expect(res!.results.map((r) => [r.score, r.passed])).toEqual([[1, true], [0, false], [0, false]]);
    expect(res!.results[2].detail).toMatch(/not applicable/);
  });

  it('Verify: unknown verifier and invalid JSON Schema are INVALID_ARGUMENT naming the field', async () => {
    const a = await verify({ verifierJson: '{"type":"telepathy"}', items: [{ prompt: 'p', completion: 'c', reference: '' }] });
    expect(a.err?.code).toBe(status.INVALID_ARGUMENT);
    expect(a.err?.details).toMatch(/^verifier\.type: unknown verifier "telepathy"/);
    const b = await verify({ verifierJson: JSON.stringify({ type: 'json_schema', schema: { type: 'nope' } }), items: [{ prompt: 'p', completion: '{}', reference: '' }] });
    expect(b.err?.code).toBe(status.INVALID_ARGUMENT);
    expect(b.err?.details).toMatch(/^verifier\.schema: is not a valid JSON Schema/);
  });

  it('GenerateGroups returns G scored completions per prompt with per-token log-probs', async () => {
    const { err, res } = await groups({
      policy: { base: { name: 'tiny', version: '' } },
      prompts: [{ prompt: '12+34=', reference: '46' }, { prompt: '3+4=', reference: '7' }, { prompt: 'add 1 and 2: ', reference: '3' }],
      groupSize: 3,
      sampling: { maxNewTokens: 6, temperature: 1, topP: 1, topK: 0, seed: 9, stop: [] },
      verifierJson: '{"type":"numeric"}',
    });
    expect(err).toBeNull();
    expect(res!.groups.map((g) => g.completions.length)).toEqual([3, 3, 3]);
    for (const g of res!.groups) {
      for (const c of g.completions) {
        expect(c.tokenIds.length).toBeGreaterThan(0);
        expect(c.tokenLogprobs).toHaveLength(c.tokenIds.length);
        expect(c.logprob).toBeCloseTo(c.tokenLogprobs.reduce((a, b) => a + b, 0), 6);
        expect([1, 2]).toContain(c.finishReason);
        expect([0, 1]).toContain(c.reward);
      }
    }
  });

  it('GenerateGroups: bad input is INVALID_ARGUMENT naming the field; an unknown model is NOT_FOUND', async () => {
    const base = { policy: { base: { name: 'tiny', version: '' } }, prompts: [{ prompt: '1+1=', reference: '2' }], groupSize: 2, verifierJson: '{"type":"numeric"}' };
    const cases: [Partial<GenerateGroupsRequest>, number, RegExp][] = [
      [{ ...base, groupSize: 0 }, status.INVALID_ARGUMENT, /^group_size: must be an integer >= 1, got 0/],
      [{ ...base, verifierJson: '{"type":"nope"}' }, status.INVALID_ARGUMENT, /^verifier\.type: unknown verifier/],
      [{ ...base, prompts: [{ prompt: 'x'.repeat(70), reference: '' }] }, status.INVALID_ARGUMENT, /^prompts\[0\]: prompt of 71 tokens \+ maxNewTokens 16 exceeds the context length 64/],
      [{ ...base, policy: { base: { name: 'missing', version: '' } } }, status.NOT_FOUND, /^policy\.base\.name: no model 'missing'/],
    ];
    for (const [req, code, re] of cases) {
      const { err } = await groups(req);
      expect(err?.code, JSON.stringify(req)).toBe(code);
      expect(err?.details).toMatch(re);
    }
  });
});
