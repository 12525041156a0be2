// rollout on a real port with the model store beside it, real NATS: health SERVING; Verify with verifier specs;
// GenerateGroups through the in-process worker; streaming Generate equal token for token to a non-streamed
// generation (greedy and seeded sampling), cancelled mid-stream, and with a model-store policy (base + LoRA
// adapter pulled into the worker's cache); bad input is INVALID_ARGUMENT naming the field (one test per case).
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import * as tf from '@tensorflow/tfjs-core';
import { Kvm } from '@nats-io/kv';
import { connectBus, deprovision, provision, type Bus } from '@tuneloop/bus';
import { initBackend } from '@tuneloop/engine';
import { loadModel, saveModel } from '@tuneloop/files';
import { ARITH_SMALL, arithModelConfig, arithTokenizer, CausalLM, fromFloat32, generate, initWeights, serializeSafetensors } from '@tuneloop/model';
import { connectStore, folderEntries, modelStore, responseOf, sendFolder } from '@tuneloop/model-store';
import { decodeAdapterFiles, loadAdapter } from '@tuneloop/peft';
import { rewardModelApi } from '@tuneloop/reward-model';
import {
  GenerateGroupsRequest,
  GenerateGroupsResponse,
  GenerateRequest,
  GenerateResponse,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  RewardModelServiceClient,
  RolloutServiceClient,
  VerifyRequest,
  VerifyResponse,
  type UploadAdapterRequest,
} from '@tuneloop/proto';
import { startTestServices, type TestServices } from '@tuneloop/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAdapter } from './test-fixtures.ts';
import { createRng } from '@tuneloop/engine';
import { resultBucketName } from './dispatcher.ts';
import { SERVICE_NAME, rollout } from './service.ts';

const NATS = process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222';
const prefix = `T${Math.random().toString(16).slice(2, 10)}_`;
const tok = arithTokenizer();
let svc: TestServices;
let bus: Bus;
let home: string;
let client: RolloutServiceClient;
let storedVersion = '';

async function makeModel(dir: string, seed: number, context = 64): Promise<void> {
  const cfg = { ...arithModelConfig({ ...ARITH_SMALL, hiddenSize: 32, numLayers: 1, intermediateSize: 64 }, tok), maxPositionEmbeddings: context };
  const w = initWeights(cfg, createRng(seed));
  const m = new CausalLM(cfg, w);
  tf.dispose([...w.values()]);
  await saveModel(dir, m, { tokenizer: tok });
  m.dispose();
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  home = await mkdtemp(path.join(tmpdir(), 'rollout-svc-'));
  await makeModel(path.join(home, 'models', 'tiny'), 4);
  await makeModel(path.join(home, 'models', 'long'), 5, 512);
  await makeModel(path.join(home, 'upload', 'stored'), 6);
  await makeAdapter(path.join(home, 'upload', 'adapter'));
  // a model folder without weights: requests validate (config + tokenizer) but no worker can load it
  await mkdir(path.join(home, 'models', 'broken'), { recursive: true });
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) await copyFile(path.join(home, 'models', 'tiny', f), path.join(home, 'models', 'broken', f)).catch(() => undefined);
  // a reward model folder: the trunk plus a `score.weight` [1, d] head
  await makeModel(path.join(home, 'rm'), 9);
  const head = createRng(10);
  await writeFile(path.join(home, 'rm', 'score.safetensors'), serializeSafetensors(new Map([['score.weight', fromFloat32(Float32Array.from({ length: 32 }, () => head.next() - 0.5), 'F32', [1, 32])]]), { format: 'pt' }));
  bus = await connectBus({ url: NATS, name: 'rollout-svc-test', prefix });
  await provision(bus, { prefix, storage: 'memory' });
  svc = await startTestServices([modelStore, rewardModelApi, rollout], { TUNELOOP_HOME: home, TUNELOOP_NATS_PREFIX: prefix, TUNELOOP_NATS_URL: NATS, TUNELOOP_MODEL_STORE_BACKEND: 'fs' });
  client = new RolloutServiceClient(svc.target, credentials.createInsecure());
  // the store holds 'stored' (not under models/) and a LoRA adapter trained on it
  const store = connectStore(svc.target);
  const imported = await new Promise<{ model?: { ref?: { version: string } } }>((resolve, reject) =>
    store.importModel({ ref: { name: 'stored', version: '' }, path: path.join(home, 'upload', 'stored') }, (e, r) => (e ? reject(e) : resolve(r))),
  );
  storedVersion = imported.model!.ref!.version;
  const adir = path.join(home, 'upload', 'adapter');
  const files = await folderEntries(adir);
  const { call, done } = responseOf<unknown, ReturnType<typeof store.uploadAdapter>>((cb) => store.uploadAdapter(new Metadata(), cb));
  await sendFolder<UploadAdapterRequest>(call, { part: { $case: 'header', value: { ref: { name: 'lora-a', version: '' }, baseModel: { name: 'stored', version: storedVersion }, files, metrics: {} } } }, adir, files);
  await done;
  store.close();
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
/** Every message of a Generate stream (and the error that ended it, if any). */
const stream = (req: Partial<GenerateRequest>) =>
  new Promise<{ err: ServiceError | null; msgs: GenerateResponse[] }>((resolve) => {
    const msgs: GenerateResponse[] = [];
    const s = client.generate(GenerateRequest.fromPartial(req));
    s.on('data', (m: GenerateResponse) => msgs.push(m));
    s.on('error', (err: ServiceError) => resolve({ err, msgs }));
    s.on('end', () => resolve({ err: null, msgs }));
  });

/** Completions rebuilt from stream messages: tokens, log-probs, text and finish reason per index. */
function assemble(msgs: GenerateResponse[], n: number) {
  const out = Array.from({ length: n }, () => ({ tokens: [] as number[], logprobs: [] as number[], text: '', finish: 0, messages: 0 }));
  for (const m of msgs) {
    const c = out[m.index];
    expect(c.finish, 'no message after the finish reason').toBe(0);
    c.tokens.push(...m.tokenIds);
    c.logprobs.push(...m.tokenLogprobs);
    expect(m.logprob).toBeCloseTo(m.tokenLogprobs.reduce((a, b) => a + b, 0), 9);
    c.text += m.textDelta;
    c.finish = m.finishReason;
    c.messages++;
  }
  return out;
}

const FINISH: Record<string, number> = { eos: 1, length: 2, stop: 3 };
const promptIds = (p: string) => [tok.bosTokenId!, ...tok.encode(p, { addSpecialTokens: false })];
async function localGenerate(dir: string, prompt: string, o: { n: number; maxNewTokens: number; temperature: number; seed: number; adapterDir?: string }) {
  const { model } = await loadModel(dir);
  try {
    if (o.adapterDir) {
      const { readFile } = await import('node:fs/promises');
      loadAdapter(model, decodeAdapterFiles(await readFile(path.join(o.adapterDir, 'adapter_config.json'), 'utf8'), new Uint8Array(await readFile(path.join(o.adapterDir, 'adapter_model.safetensors')))));
    }
    return generate(model, Array.from({ length: o.n }, () => promptIds(prompt)), {
      maxNewTokens: o.maxNewTokens, temperature: o.temperature, seed: o.seed, eosTokenIds: [tok.eosTokenId!], padTokenId: tok.padTokenId,
      decode: (ids) => tok.decode(ids, { skipSpecialTokens: true }),
    });
  } finally {
    model.dispose();
  }
}

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

  it('Verify takes the typed verifier field (exact_answer pattern, json_schema, json) and names its bad fields', async () => {
    const items = [{ prompt: 'q', completion: 'answer: 42.', reference: '42' }, { prompt: 'q', completion: 'answer: 41', reference: '42' }];
    const a = await verify({ verifier: { kind: { $case: 'exactAnswer', value: { answerPattern: 'answer: (\\d+)' } }, json: '' }, items });
    expect(a.err).toBeNull();
    expect(a.res!.results.map((r) => r.score)).toEqual([1, 0]);
    const b = await verify({ verifier: { kind: { $case: 'jsonSchema', value: { schemaJson: '{"type":"object","required":["x"]}' } }, json: '' }, items: [{ prompt: 'q', completion: '{"x":1}', reference: '' }, { prompt: 'q', completion: '{}', reference: '' }] });
    expect(b.res!.results.map((r) => r.score)).toEqual([1, 0]);
    const c = await verify({ verifier: { json: '{"type":"numeric"}' }, items });
    expect(c.res!.results.map((r) => r.score)).toEqual([1, 0]);
    const d = await verify({ verifier: { kind: { $case: 'jsonSchema', value: { schemaJson: '{nope' } }, json: '' }, items });
    expect(d.err?.code).toBe(status.INVALID_ARGUMENT);
    expect(d.err?.details).toMatch(/^verifier\.json_schema\.schema_json: is not valid JSON/);
    const e = await verify({ items });
    expect(e.err?.code).toBe(status.INVALID_ARGUMENT);
    expect(e.err?.details).toMatch(/^verifier_json: required/);
  });

  it('Verify with a reward-model verifier scores through the reward-model Score RPC', async () => {
    const items = [{ prompt: '1+2=', completion: '3', reference: '' }, { prompt: '1+2=', completion: '4', reference: '' }];
    const rm = new RewardModelServiceClient(svc.target, credentials.createInsecure());
    const want = await new Promise<number[]>((resolve, reject) =>
      rm.score({ rewardModel: { name: path.join(home, 'rm'), version: '' }, items: items.map((i) => ({ prompt: i.prompt, completion: i.completion })) }, (e, r) => (e ? reject(e) : resolve(r.scores))),
    );
    rm.close();
    const a = await verify({ verifier: { kind: { $case: 'rewardModel', value: { name: path.join(home, 'rm'), version: '' } }, json: '' }, items });
    expect(a.err).toBeNull();
    a.res!.results.forEach((r, i) => expect(r.score).toBeCloseTo(want[i], 6));
    expect(want[0]).not.toBeCloseTo(want[1], 6);
    const b = await verify({ verifierJson: JSON.stringify({ type: 'reward_model', model: path.join(home, 'rm') }), items });
    b.res!.results.forEach((r, i) => expect(r.score).toBeCloseTo(want[i], 6));
    const c = await verify({ verifierJson: '{"type":"reward_model"}', items });
    expect(c.err?.code).toBe(status.INVALID_ARGUMENT);
    expect(c.err?.details).toMatch(/^verifier\.model: required for reward_model/);
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

  it('Generate streams token by token what a non-streamed greedy generation makes, token for token', async () => {
    const { err, msgs } = await stream({ policy: { base: { name: 'tiny', version: '' } }, input: { $case: 'prompt', value: '12+34=' }, sampling: { maxNewTokens: 20, temperature: 0, topP: 1, topK: 0, seed: 0, stop: [] } });
    expect(err).toBeNull();
    const [got] = assemble(msgs, 1);
    const [want] = await localGenerate(path.join(home, 'models', 'tiny'), '12+34=', { n: 1, maxNewTokens: 20, temperature: 0, seed: 0 });
    expect(got.messages).toBe(want.tokens.length); // one message per token: streamed, not sent at the end in one piece
    expect(got.tokens).toEqual(want.tokens);
    got.logprobs.forEach((x, i) => expect(x).toBeCloseTo(want.logprobs[i], 4));
    expect(got.text).toBe(want.text);
    expect(got.finish).toBe(FINISH[want.finishReason]);
  });

  it('Generate with n = 3 and a seed streams the same samples as generate() with that seed', async () => {
    const { err, msgs } = await stream({ policy: { base: { name: 'tiny', version: '' } }, input: { $case: 'prompt', value: '7+8=' }, n: 3, sampling: { maxNewTokens: 12, temperature: 1, topP: 1, topK: 0, seed: 21, stop: [] } });
    expect(err).toBeNull();
    const got = assemble(msgs, 3);
    const want = await localGenerate(path.join(home, 'models', 'tiny'), '7+8=', { n: 3, maxNewTokens: 12, temperature: 1, seed: 21 });
    expect(got.map((c) => c.tokens)).toEqual(want.map((w) => w.tokens));
    expect(got.map((c) => c.text)).toEqual(want.map((w) => w.text));
  });

  it('Generate: the client cancelling mid-stream stops the worker generating', async () => {
    const sub = bus.nc.subscribe(`${bus.names.subjectPrefix}rollout.stream.*`);
    let published = 0;
    void (async () => {
      for await (const m of sub) if (m.string().includes('"type":"token"')) published++;
    })();
    const s = client.generate(GenerateRequest.fromPartial({ policy: { base: { name: 'long', version: '' } }, input: { $case: 'prompt', value: '1+1=' }, n: 8, sampling: { maxNewTokens: 400, temperature: 1, topP: 1, topK: 0, seed: 3, stop: [] } }));
    let received = 0;
    const ended = new Promise<ServiceError | null>((resolve) => {
      s.on('error', resolve);
      s.on('end', () => resolve(null));
    });
    await new Promise<void>((resolve) =>
      s.on('data', () => {
        if (++received === 5) {
          s.cancel();
          resolve();
        }
      }),
    );
    expect((await ended)?.code).toBe(status.CANCELLED);
    await new Promise((r) => setTimeout(r, 1500));
    const settled = published;
    await new Promise((r) => setTimeout(r, 1000));
    sub.unsubscribe();
    expect(published).toBe(settled); // nothing is published any more
    expect(published).toBeLessThan(8 * 400 / 2); // it stopped well before the end
  });

  it('Generate with a model-store policy (base + LoRA adapter) pulls it into the cache and generates', async () => {
    const base = await stream({ policy: { base: { name: 'stored', version: '' } }, input: { $case: 'prompt', value: '2+2=' }, sampling: { maxNewTokens: 10, temperature: 0, topP: 1, topK: 0, seed: 0, stop: [] } });
    expect(base.err).toBeNull();
    const wantBase = await localGenerate(path.join(home, 'upload', 'stored'), '2+2=', { n: 1, maxNewTokens: 10, temperature: 0, seed: 0 });
    expect(assemble(base.msgs, 1)[0].tokens).toEqual(wantBase[0].tokens);
    const tuned = await stream({ policy: { base: { name: 'stored', version: '' }, adapter: { name: 'lora-a', version: '' } }, input: { $case: 'prompt', value: '2+2=' }, sampling: { maxNewTokens: 10, temperature: 0, topP: 1, topK: 0, seed: 0, stop: [] } });
    expect(tuned.err).toBeNull();
    const want = await localGenerate(path.join(home, 'upload', 'stored'), '2+2=', { n: 1, maxNewTokens: 10, temperature: 0, seed: 0, adapterDir: path.join(home, 'upload', 'adapter') });
    const got = assemble(tuned.msgs, 1)[0];
    expect(got.tokens).toEqual(want[0].tokens);
    got.logprobs.forEach((x, i) => expect(x).toBeCloseTo(want[0].logprobs[i], 3));
    expect(want[0].tokens).not.toEqual(wantBase[0].tokens); // the adapter changes the policy
    const { existsSync } = await import('node:fs');
    expect(existsSync(path.join(home, 'cache', 'rollout', 'models', `stored@${storedVersion}`, 'model.safetensors'))).toBe(true);
    const g = await groups({ policy: { base: { name: 'stored', version: storedVersion }, adapter: { name: 'lora-a', version: '' } }, prompts: [{ prompt: '2+2=', reference: '4' }], groupSize: 2, verifierJson: '{"type":"numeric"}', sampling: { maxNewTokens: 10, temperature: 0, topP: 1, topK: 0, seed: 0, stop: [] } });
    expect(g.err).toBeNull();
    expect(g.res!.groups[0].completions[0].tokenIds).toEqual(want[0].tokens);
  });

  it('GenerateGroups fails at once (FAILED_PRECONDITION) when no worker can load the policy, not at its timeout', async () => {
    const t0 = Date.now();
    const { err } = await groups({ policy: { base: { name: 'broken', version: '' } }, prompts: [{ prompt: '1+1=', reference: '2' }], groupSize: 2, verifierJson: '{"type":"numeric"}' });
    expect(err?.code).toBe(status.FAILED_PRECONDITION);
    expect(err?.details).toMatch(/batch 0 failed on .*broken/);
    expect(Date.now() - t0).toBeLessThan(20_000);
    const s = await stream({ policy: { base: { name: 'broken', version: '' } }, input: { $case: 'prompt', value: '1+1=' } });
    expect(s.err?.code).toBe(status.FAILED_PRECONDITION);
    expect(s.err?.details).toMatch(/^generation failed on the worker: .*broken/);
  });

  it('an unknown model is NOT_FOUND naming policy.base.name; an unknown adapter NOT_FOUND naming policy.adapter', async () => {
    const a = await groups({ policy: { base: { name: 'missing', version: '' } }, prompts: [{ prompt: '1+1=', reference: '2' }], groupSize: 2, verifierJson: '{"type":"numeric"}' });
    expect(a.err?.code).toBe(status.NOT_FOUND);
    expect(a.err?.details).toMatch(/^policy\.base\.name: no model 'missing'/);
    const b = await stream({ policy: { base: { name: 'stored', version: '' }, adapter: { name: 'nope', version: '' } }, input: { $case: 'prompt', value: '1+1=' } });
    expect(b.err?.code).toBe(status.NOT_FOUND);
    expect(b.err?.details).toMatch(/^policy\.adapter: no adapter nope/);
  });
});

describe('rollout bad input: INVALID_ARGUMENT naming the field', () => {
  const base = { policy: { base: { name: 'tiny', version: '' } }, prompts: [{ prompt: '1+1=', reference: '2' }], groupSize: 2, verifierJson: '{"type":"numeric"}' };
  const sampling = { maxNewTokens: 8, temperature: 1, topP: 1, topK: 0, seed: 0, stop: [] as string[] };
  const cases: [string, Partial<GenerateGroupsRequest>, RegExp][] = [
    ['group size < 2', { ...base, groupSize: 1 }, /^group_size: must be in \[2, 64\] \(a GRPO group compares at least 2 samples\), got 1/],
    ['unknown verifier', { ...base, verifierJson: '{"type":"nope"}' }, /^verifier\.type: unknown verifier "nope"/],
    ['invalid JSON Schema', { ...base, verifierJson: JSON.stringify({ type: 'json_schema', schema: { type: 'nope' } }) }, /^verifier\.schema: is not a valid JSON Schema/],
    ['prompt longer than the context', { ...base, prompts: [{ prompt: '1+1=', reference: '' }, { prompt: '1'.repeat(70), reference: '' }] }, /^prompts\[1\]\.prompt: 71 tokens > context length 64/],
    ['prompt + max_new_tokens over the context', { ...base, prompts: [{ prompt: '1'.repeat(50), reference: '' }], sampling: { ...sampling, maxNewTokens: 20 } }, /^prompts\[0\]\.prompt: 51 tokens \+ max_new_tokens 20 > context length 64/],
    ['max_new_tokens over the limit', { ...base, sampling: { ...sampling, maxNewTokens: 64 } }, /^sampling\.max_new_tokens: must be in \[1, 63\], got 64/],
    ['negative temperature', { ...base, sampling: { ...sampling, temperature: -0.5 } }, /^sampling\.temperature: must be in \[0, 100\]/],
    ['top_p above 1', { ...base, sampling: { ...sampling, topP: 1.5 } }, /^sampling\.top_p: must be in \(0, 1\], got 1\.5/],
    ['too many stop strings', { ...base, sampling: { ...sampling, stop: ['a', 'b', 'c', 'd', 'e'] } }, /^sampling\.stop: at most 4 stop strings, got 5/],
    ['too many sequences', { ...base, prompts: Array.from({ length: 100 }, () => ({ prompt: '1+1=', reference: '' })), groupSize: 64 }, /^group_size: prompts x group_size must be <= 4096, got 100 x 64/],
  ];
  for (const [name, req, re] of cases) {
    it(`GenerateGroups: ${name}`, async () => {
      const { err } = await groups(req);
      expect(err?.code).toBe(status.INVALID_ARGUMENT);
      expect(err?.details).toMatch(re);
    });
  }
  it('Generate: n over the limit, prompt over the context, bad role', async () => {
    const req = { policy: { base: { name: 'tiny', version: '' } }, input: { $case: 'prompt' as const, value: '1+1=' } };
    const a = await stream({ ...req, n: 17 });
    expect(a.err?.code).toBe(status.INVALID_ARGUMENT);
    expect(a.err?.details).toMatch(/^n: must be in \[1, 16\], got 17/);
    const b = await stream({ ...req, input: { $case: 'prompt', value: '9'.repeat(80) } });
    expect(b.err?.code).toBe(status.INVALID_ARGUMENT);
    expect(b.err?.details).toMatch(/^prompt: 81 tokens > context length 64/);
    const c = await stream({ ...req, input: { $case: 'messages', value: { messages: [{ role: 'robot', content: 'hi' }] } } });
    expect(c.err?.code).toBe(status.INVALID_ARGUMENT);
    expect(c.err?.details).toMatch(/^messages\[0\]\.role: must be system, user or assistant/);
  });
});
