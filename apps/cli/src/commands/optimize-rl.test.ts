// `tuneloop optimize grpo|best-of-n` and `tuneloop rollout generate|verify` through the real CLI entry point on
// a tiny seeded model folder: adapters in PEFT format with optimize.json, per-step progress with --watch,
// held-out pass@1 before/after, and bad input exiting 2 with the field named.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../test-run.ts';

let dir: string;
beforeAll(async () => {
  const [tf, { createRng, initBackend }, { ARITH_SMALL, arithModelConfig, arithTokenizer, CausalLM, initWeights }, { saveModel }] = await Promise.all([
    import('@tensorflow/tfjs-core'), import('@tuneloop/engine'), import('@tuneloop/model'), import('@tuneloop/files'),
  ]);
  await initBackend({ backend: 'wasm', quiet: true });
  dir = await mkdtemp(join(tmpdir(), 'tuneloop-rl-cli-'));
  const tok = arithTokenizer();
  const cfg = arithModelConfig({ ...ARITH_SMALL, hiddenSize: 32, numLayers: 1, intermediateSize: 64 }, tok);
  const w = initWeights(cfg, createRng(1));
  const m = new CausalLM(cfg, w);
  tf.dispose([...w.values()]);
  await saveModel(join(dir, 'policy'), m, { tokenizer: tok });
  m.dispose();
  const rows = (n: number, off: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `${i + off}+${i}=`, reference: String(2 * i + off) })).join('\n');
  await writeFile(join(dir, 'train.jsonl'), rows(16, 10) + '\n');
  await writeFile(join(dir, 'eval.jsonl'), rows(8, 40) + '\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});


describe('tuneloop optimize grpo|best-of-n, rollout generate|verify', () => {
  it('optimize grpo writes a PEFT adapter and shows reward, pass rate, KL and clip ratio per step', async () => {
    const out = join(dir, 'grpo');
    const r = await run(['optimize', 'grpo', '--local', '--policy', join(dir, 'policy'), '--data', join(dir, 'train.jsonl'), '--eval', join(dir, 'eval.jsonl'), '--out', out,
      '--steps', '2', '--group', '4', '--prompts', '2', '--max-new-tokens', '3', '--verifier', '{"type":"regex","pattern":"^[0-9]+$","fullMatch":true}', '--watch', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/\[2\/2\] reward \d\.\d{3} pass \d\.\d{3} kl \d\.\d{4} clip \d\.\d{3}/);
    const s = JSON.parse(r.out);
    expect(s.method).toBe('grpo');
    expect(typeof s.passAt1Before).toBe('number');
    for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'optimize.json']) expect(existsSync(join(out, f))).toBe(true);
    expect(JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8')).peft_type).toBe('LORA');
  });

  it('optimize best-of-n writes a PEFT adapter', async () => {
    const out = join(dir, 'bon');
    const r = await run(['optimize', 'best-of-n', '--local', '--policy', join(dir, 'policy'), '--data', join(dir, 'train.jsonl'), '--out', out, '--n', '4', '--steps', '2', '--max-new-tokens', '3', '--verifier', '{"type":"regex","pattern":"^[0-9]"}', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).finalMetrics.kept).toBeGreaterThanOrEqual(0);
    expect(existsSync(join(out, 'adapter_model.safetensors'))).toBe(true);
  });

  it('bad input exits 2 naming the field', async () => {
    const base = ['optimize', 'grpo', '--local', '--policy', join(dir, 'policy'), '--data', join(dir, 'train.jsonl'), '--out', join(dir, 'bad')];
    const a = await run([...base, '--group', '1']);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/groupSize: must be an integer >= 2, got 1/);
    const where = await run([...base, '--rollout', 'remote']);
    expect([where.code, where.err.trim()]).toEqual([2, 'tuneloop: --rollout: must be local or service, got "remote"']);
    const local = await run([...base, '--rollout', 'service']);
    expect([local.code, local.err.trim()]).toEqual([2, 'tuneloop: --rollout service: a job of the services samples there; --local runs in this process']);
    const b = await run([...base, '--verifier', '{"type":"json_schema","schema":{"type":"nope"}}']);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/verifier\.schema: is not a valid JSON Schema/);
    const c = await run(['rollout', 'verify', '--verifier', 'psychic', '--completion', '1']);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/verifier\.type: unknown verifier "psychic"/);
    const d = await run(['rollout', 'generate', '--local', '--model', join(dir, 'policy'), '--prompt', 'x'.repeat(60), '--max-new-tokens', '8']);
    expect(d.code).toBe(2);
    expect(d.err).toMatch(/prompts\[0\]: prompt of 61 tokens \+ maxNewTokens 8 exceeds the context length 64/);
  });

  it('rollout generate and verify', async () => {
    const g = await run(['rollout', 'generate', '--local', '--model', join(dir, 'policy'), '--prompt', '1+2=', '--n', '3', '--max-new-tokens', '4', '--seed', '5', '--verifier', 'numeric', '--reference', '3', '--json']);
    expect(g.code, g.err).toBe(0);
    const rows = JSON.parse(g.out);
    expect(rows).toHaveLength(3);
    for (const x of rows) expect(x.tokenLogprobs).toHaveLength(x.tokens.length);
    const v = await run(['rollout', 'verify', '--local', '--verifier', 'numeric', '--completion', 'the answer is 3', '--reference', '3', '--json']);
    expect(JSON.parse(v.out).score).toBe(1);
  });
});
