// `tuneloop rollout generate|verify` through a real rollout service (gRPC on a port, real NATS): generate streams
// the completion to stdout token by token and equals the --local run with the same seed; --json --events emits one
// object per token then the completions; verify scores through the service; bad input exits 2 naming the field.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '@tuneloop/bus';
import type { TestServices } from '@tuneloop/service-kit';
import { runCli as run } from '../test-run.ts';

const NATS = process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222';
const prefix = `T${Math.random().toString(16).slice(2, 10)}_`;
let dir: string;
let svc: TestServices;
let bus: Bus;

beforeAll(async () => {
  const [tf, { createRng, initBackend }, { ARITH_SMALL, arithModelConfig, arithTokenizer, CausalLM, initWeights }, { saveModel }, { connectBus, provision }, { startTestServices }, { rollout }] = await Promise.all([
    import('@tensorflow/tfjs-core'), import('@tuneloop/engine'), import('@tuneloop/model'), import('@tuneloop/files'), import('@tuneloop/bus'), import('@tuneloop/service-kit'), import('@tuneloop/rollout'),
  ]);
  await initBackend({ backend: 'wasm', quiet: true });
  dir = await mkdtemp(join(tmpdir(), 'tuneloop-rollout-cli-'));
  const tok = arithTokenizer();
  const cfg = arithModelConfig({ ...ARITH_SMALL, hiddenSize: 32, numLayers: 1, intermediateSize: 64 }, tok);
  const w = initWeights(cfg, createRng(2));
  const m = new CausalLM(cfg, w);
  tf.dispose([...w.values()]);
  await saveModel(join(dir, 'policy'), m, { tokenizer: tok });
  m.dispose();
  bus = await connectBus({ url: NATS, name: 'rollout-cli-test', prefix });
  await provision(bus, { prefix, storage: 'memory' });
  svc = await startTestServices([rollout], { TUNELOOP_HOME: dir, TUNELOOP_NATS_PREFIX: prefix, TUNELOOP_NATS_URL: NATS });
});

afterAll(async () => {
  await svc?.close();
  const { deprovision } = await import('@tuneloop/bus');
  await deprovision(bus, { prefix }).catch(() => undefined);
  await bus?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('tuneloop rollout generate|verify through the service', () => {
  it('streams a greedy completion to stdout, the same as --local', async () => {
    const args = ['rollout', 'generate', '--model', join(dir, 'policy'), '--prompt', '12+3=', '--n', '1', '--temperature', '0', '--max-new-tokens', '8'];
    const local = await run([...args, '--local', '--json']);
    expect(local.code, local.err).toBe(0);
    const want = JSON.parse(local.out)[0];
    const r = await run([...args, '--addr', svc.target]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`12+3=${want.text}  (${want.finishReason}, ${want.tokens.length} tokens, logprob ${want.logprob.toFixed(3)})\n`);
  });

  it('--json --events: one object per token, then the completions (equal to --local with the same seed)', async () => {
    const args = ['rollout', 'generate', '--model', join(dir, 'policy'), '--prompt', '7+7=', '--n', '2', '--seed', '5', '--max-new-tokens', '6', '--verifier', 'numeric', '--reference', '14', '--json'];
    const local = JSON.parse((await run([...args, '--local'])).out);
    const r = await run([...args, '--events', '--addr', svc.target]);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    const done = lines.at(-1);
    expect(done.event).toBe('done');
    expect(lines.slice(0, -1).every((l) => l.event === 'token' && l.tokenIds.length === 1)).toBe(true);
    expect(lines.length - 1).toBe(local[0].tokens.length + local[1].tokens.length);
    expect(done.completions.map((c: { tokens: number[] }) => c.tokens)).toEqual(local.map((c: { tokens: number[] }) => c.tokens));
    expect(done.completions.map((c: { reward: number }) => c.reward)).toEqual(local.map((c: { reward: number }) => c.reward));
  });

  it('verify scores through the service', async () => {
    const r = await run(['rollout', 'verify', '--verifier', 'numeric', '--completion', 'the answer is 3', '--reference', '3', '--json', '--addr', svc.target]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ verifier: 'numeric', score: 1 });
  });

  it('bad input exits 2 naming the field', async () => {
    const r = await run(['rollout', 'generate', '--model', join(dir, 'policy'), '--prompt', 'x'.repeat(70), '--addr', svc.target]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/INVALID_ARGUMENT: prompt: 71 tokens > context length 64/);
    const s = await run(['rollout', 'generate', '--model', join(dir, 'policy'), '--prompt', '1+1=', '--temperature', '-1', '--addr', svc.target]);
    expect(s.code).toBe(2);
    expect(s.err).toMatch(/sampling\.temperature: must be in \[0, 100\]/);
  });
});
