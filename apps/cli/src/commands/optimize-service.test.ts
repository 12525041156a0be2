// `tuneloop optimize dpo|grpo|best-of-n ...` through the preference-optimizer service (the default path, with the
// model store, rollout and adapter-trainer services in the same process as under `npm start`) on a real port with
// real NATS: the base imported with `tuneloop model import`, then named name@version; live progress per step
// (NDJSON with --json, progress lines otherwise), the adapter in the model store, bad input exiting 2. Also
// `optimize ppo --local` with a reward-model folder.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../test-run.ts';

let dir: string;
let close: () => Promise<void>;
const saved = { addr: process.env.TUNELOOP_GRPC_ADDR };

beforeAll(async () => {
  const [{ writeTinyBase, adapterTrainer }, { connectBus, provision, deprovision }, { modelStore }, { preferenceOptimizer }, { rollout }, { startTestServices }, { fromFloat32, serializeSafetensors }] = await Promise.all([
    import('@tuneloop/adapter-trainer'), import('@tuneloop/bus'), import('@tuneloop/model-store'), import('@tuneloop/preference-optimizer'), import('@tuneloop/rollout'), import('@tuneloop/service-kit'), import('@tuneloop/model'),
  ]);
  dir = await mkdtemp(join(tmpdir(), 'tuneloop-optimize-cli-'));
  await writeTinyBase(join(dir, 'tinycli'), 5);
  // a reward-model folder as `tuneloop reward train --out` writes it: a model folder + score.safetensors
  const rm = await writeTinyBase(join(dir, 'rm'), 8);
  const head = Array.from({ length: rm.hiddenSize }, (_, i) => Math.cos(i) / 4);
  await writeFile(join(dir, 'rm', 'score.safetensors'), serializeSafetensors(new Map([['score.weight', fromFloat32(head, 'F32', [1, rm.hiddenSize])]]), { format: 'pt' }));
  const pairs = Array.from({ length: 24 }, (_, i) => ({ a: i % 5, b: (i * 3) % 5 }));
  await writeFile(join(dir, 'prefs.jsonl'), pairs.map(({ a, b }) => JSON.stringify({ prompt: `${a}+${b}=`, chosen: String(a + b), rejected: `${a + b + 1} no` })).join('\n') + '\n');
  await writeFile(join(dir, 'same.jsonl'), '{"prompt":"1+1=","chosen":"2","rejected":"3"}\n{"prompt":"1+2=","chosen":"3","rejected":"3"}\n');
  await writeFile(join(dir, 'prompts.jsonl'), pairs.map(({ a, b }) => JSON.stringify({ prompt: `${a}+${b}=`, answer: String(a + b) })).join('\n') + '\n');
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const bus = await connectBus({ url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'optimize-cli-test', prefix });
  await provision(bus, { prefix, storage: 'memory' });
  const svc = await startTestServices([modelStore, rollout, adapterTrainer, preferenceOptimizer], { TUNELOOP_HOME: join(dir, 'home'), TUNELOOP_NATS_PREFIX: prefix, TUNELOOP_OPTIMIZER_ACK_WAIT_MS: '5000' });
  process.env.TUNELOOP_GRPC_ADDR = svc.target;
  close = async () => {
    await svc.close();
    await deprovision(bus).catch(() => undefined);
    await bus.close();
  };
}, 60_000);

afterAll(async () => {
  if (saved.addr === undefined) delete process.env.TUNELOOP_GRPC_ADDR;
  else process.env.TUNELOOP_GRPC_ADDR = saved.addr;
  await close?.();
  await rm(dir, { recursive: true, force: true });
});

describe('tuneloop optimize through the service', () => {
  it('dpo --policy name@version --watch --json: one event per step with TRL metrics, then the job with its stored adapter', async () => {
    const imp = await run(['model', 'import', join(dir, 'tinycli'), '--json']);
    expect(imp.code, imp.err).toBe(0);
    expect(JSON.parse(imp.out).ref).toEqual({ name: 'tinycli', version: '1' });
    const r = await run(['optimize', 'dpo', '--policy', 'tinycli@1', '--data', join(dir, 'prefs.jsonl'), '--steps', '3', '--batch-size', '8', '--rank', '4', '--lr', '0.02', '--output', 'cli-dpo', '--watch', '--json']);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    const steps = lines.filter((e) => e.step > 0 && e.metrics?.loss !== undefined);
    expect(steps.map((e) => e.step)).toEqual([1, 2, 3]);
    for (const e of steps) for (const k of ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected']) expect(typeof e.metrics[k]).toBe('number');
    const job = lines.at(-1);
    expect(job).toMatchObject({ status: 'succeeded', objective: 'dpo', policy: 'tinycli@1', output: `cli-dpo@${job.jobId}` });
    const ls = await run(['optimize', 'ls', '--json']);
    expect(JSON.parse(ls.out).map((j: { jobId: string }) => j.jobId)).toContain(job.jobId);
  }, 60_000);

  it('grpo --watch shows reward, pass rate, KL and clip ratio per step', async () => {
    const r = await run(['optimize', 'grpo', '--policy', 'tinycli@1', '--data', join(dir, 'prompts.jsonl'), '--steps', '2', '--group', '4', '--prompts', '2', '--max-new-tokens', '3',
      '--rank', '4', '--verifier', '{"type":"regex","pattern":"^[0-9]+$","fullMatch":true}', '--watch']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/\[2\/2\] reward \d\.\d{3} pass \d\.\d{3} kl -?\d\.\d{4} clip \d\.\d{3}/);
    expect(r.out).toMatch(/^rl-\S+ succeeded: adapter tinycli-grpo@rl-/);
    // full fine-tuning (the measured GRPO recipe's method): the default LoRA rank is not sent
    const f = await run(['optimize', 'grpo', '--policy', 'tinycli@1', '--data', join(dir, 'prompts.jsonl'), '--steps', '1', '--group', '4', '--prompts', '2', '--max-new-tokens', '3',
      '--method', 'full', '--lr', '1e-5', '--output', 'cli-grpo-full', '--verifier', 'numeric', '--watch']);
    expect(f.code, f.err).toBe(0);
    expect(f.out).toMatch(/^rl-\S+ succeeded: adapter cli-grpo-full@rl-/);
  }, 60_000);

  it('grpo --rollout service samples on the rollout service; best-of-n fine-tunes through an adapter-trainer SFT job', async () => {
    const g = await run(['optimize', 'grpo', '--policy', 'tinycli@1', '--data', join(dir, 'prompts.jsonl'), '--steps', '2', '--group', '4', '--prompts', '2', '--max-new-tokens', '3',
      '--rank', '4', '--verifier', '{"type":"regex","pattern":"[0-9]"}', '--rollout', 'service', '--output', 'cli-grpo-svc', '--watch']);
    expect(g.code, g.err).toBe(0);
    expect(g.err).toMatch(/\[2\/2\] reward \d\.\d{3} pass \d\.\d{3}/);
    expect(g.out).toMatch(/^rl-\S+ succeeded: adapter cli-grpo-svc@rl-/);
    const b = await run(['optimize', 'best-of-n', '--policy', 'tinycli@1', '--data', join(dir, 'prompts.jsonl'), '--steps', '2', '--n', '4', '--max-new-tokens', '8',
      '--rank', '4', '--verifier', '{"type":"regex","pattern":"[0-9]"}', '--output', 'cli-bon', '--watch']);
    expect(b.code, b.err).toBe(0);
    expect(b.err).toMatch(/prompts kept a winner/);
    expect(b.err).toMatch(/SFT on the winners: adapter-trainer job sft-/);
    expect(b.out).toMatch(/^rl-\S+ succeeded: adapter cli-bon@sft-/);
  }, 90_000);

  it('bad input exits 2 with the field: beta 0 in the CLI, an identical pair at the service (line named)', async () => {
    const b = await run(['optimize', 'dpo', '--policy', 'tinycli@1', '--data', join(dir, 'prefs.jsonl'), '--beta', '0']);
    expect([b.code, b.err]).toEqual([2, 'tuneloop: beta: must be > 0, got 0\n']);
    const s = await run(['optimize', 'dpo', '--policy', 'tinycli@1', '--data', join(dir, 'same.jsonl')]);
    expect(s.code).toBe(2);
    expect(s.err).toMatch(/^tuneloop: INVALID_ARGUMENT: spec\.dataset\.uri: same\.jsonl: line 2: .*identical/);
    const g = await run(['optimize', 'grpo', '--policy', 'tinycli@1', '--data', join(dir, 'prompts.jsonl'), '--group', '1']);
    expect(g.code).toBe(2);
    expect(g.err).toMatch(/spec\.grpo\.group_size: must be an integer >= 2, got 1/);
  }, 30_000);

  it('ppo --local scores completions with a reward-model folder and writes the adapter', async () => {
    const out = join(dir, 'ppo-local');
    const r = await run(['optimize', 'ppo', '--local', '--policy', join(dir, 'tinycli'), '--reward-model', join(dir, 'rm'), '--data', join(dir, 'prompts.jsonl'), '--out', out,
      '--steps', '2', '--prompts', '4', '--max-new-tokens', '3', '--rank', '4', '--watch', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/\[2\/2\] reward -?\d\.\d{3} kl -?\d\.\d{4} kl_coef \d\.\d{4} clip \d\.\d{3}/);
    const s = JSON.parse(r.out);
    expect(s.method).toBe('ppo');
    expect(typeof s.finalMetrics.score).toBe('number');
  }, 30_000);
});
