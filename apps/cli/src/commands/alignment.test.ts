// `tuneloop reward train|eval|score` and `tuneloop optimize` end to end through the real CLI entry point on a
// tiny seeded arith model folder and JSONL written by the library's writer; bad input exits 2 with the line.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../test-run.ts';

let dir: string;
const SLICE = { correct: 0, 'correct-rambling': 2, 'wrong-close': 1, 'wrong-far': 1, 'wrong-rambling': 0 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tuneloop-align-'));
  const [{ createRng, initBackend }, { ARITH_SMALL, arithModelConfig, arithTokenizer, CausalLM, initWeights }, ds, { saveModel }] = await Promise.all([
    import('@tuneloop/engine'), import('@tuneloop/model'), import('@tuneloop/datasets'), import('@tuneloop/files'),
  ]);
  const { preferenceTask, simulatedAnnotator, unpairPreferences, writeKtoJsonl, writePreferenceJsonl } = ds;
  await initBackend({ quiet: true });
  const tok = arithTokenizer();
  const cfg = arithModelConfig({ ...ARITH_SMALL, hiddenSize: 32, numLayers: 1, intermediateSize: 64 }, tok);
  const w = initWeights(cfg, createRng(1));
  const m = new CausalLM(cfg, w);
  tf.dispose([...w.values()]);
  await saveModel(join(dir, 'base'), m, { tokenizer: tok });
  const norm = m.norms.get('model.norm')!;
  norm.assign(tf.fill(norm.shape, NaN) as tf.Tensor1D); // a broken checkpoint: every loss is NaN
  await saveModel(join(dir, 'nan-base'), m, { tokenizer: tok });
  m.dispose();
  const train = simulatedAnnotator({ seed: 2, noise: 0.1 }).labelAll(preferenceTask({ seed: 1, count: 300, split: 'train', kindWeights: SLICE }));
  const held = preferenceTask({ seed: 3, count: 80, split: 'eval', kindWeights: SLICE }).map((p) => ({ prompt: p.prompt, chosen: p.better, rejected: p.worse }));
  await writeFile(join(dir, 'train.jsonl'), writePreferenceJsonl(train));
  await writeFile(join(dir, 'eval.jsonl'), writePreferenceJsonl(held));
  await writeFile(join(dir, 'kto.jsonl'), writeKtoJsonl(unpairPreferences(train)));
  await writeFile(join(dir, 'bad.jsonl'), writePreferenceJsonl(train.slice(0, 3)) + '{"prompt":"1+1=","chosen":"2","rejected":"2"}\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tuneloop reward', () => {
  it('trains, saves, evaluates and scores a reward model', async () => {
    const out = join(dir, 'rm');
    const t = await run(['reward', 'train', '--local', '--base', join(dir, 'base'), '--data', join(dir, 'train.jsonl'), '--eval', join(dir, 'eval.jsonl'), '--out', out, '--steps', '30', '--margin', '--lora', '--lr', '3e-3', '--json']); // LoRA r 8: the recipe's full fine-tuning at 3e-4 needs far more than 30 steps
    expect(t.err).toBe('');
    expect(t.code).toBe(0);
    const s = JSON.parse(t.out);
    expect(s.evalAccuracy).toBeGreaterThanOrEqual(0.85);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'score.safetensors', 'reward_model.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const e = await run(['reward', 'eval', '--local', '--model', out, '--data', join(dir, 'eval.jsonl'), '--json']);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.out).accuracy).toBeCloseTo(s.evalAccuracy, 5); // the saved folder (merged LoRA + head) reproduces it
    const sc = await run(['reward', 'score', '--local', '--model', out, '--prompt', '12+34=', '--response', '46 so yes', '47', '--json']);
    const rows = JSON.parse(sc.out) as { score: number }[];
    expect(rows[0].score).toBeGreaterThan(rows[1].score);
    const empty = await run(['reward', 'score', '--local', '--model', out, '--prompt', '1+1=', '--response', '']);
    expect(empty.code).toBe(2);
    expect(empty.err).toContain('responses[0]: must not be empty');
  });
  it('refuses a bad preference file before training, naming the line', async () => {
    const r = await run(['reward', 'train', '--local', '--base', join(dir, 'base'), '--data', join(dir, 'bad.jsonl'), '--out', join(dir, 'never')]);
    expect(r.code).toBe(2);
    expect(r.err).toBe('tuneloop: bad.jsonl: line 4: "chosen" and "rejected" are identical (a pair must differ)\n');
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });
});

describe('tuneloop optimize', () => {
  it('dpo writes a PEFT adapter and reports the held-out gain', async () => {
    const out = join(dir, 'dpo');
    const r = await run(['optimize', 'dpo', '--local', '--policy', join(dir, 'base'), '--data', join(dir, 'train.jsonl'), '--eval', join(dir, 'eval.jsonl'), '--out', out, '--steps', '25', '--lr', '0.02', '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out);
    expect(s.evalAfter.rewardAccuracy).toBeGreaterThanOrEqual(0.8);
    expect(s.evalAfter.winRateNorm).toBeGreaterThan(s.evalBefore.winRateNorm);
    const cfg = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'));
    expect(cfg.peft_type).toBe('LORA');
    expect(existsSync(join(out, 'adapter_model.safetensors'))).toBe(true);
  });
  it('kto reads the unpaired format', async () => {
    const r = await run(['optimize', 'kto', '--local', '--policy', join(dir, 'base'), '--data', join(dir, 'kto.jsonl'), '--out', join(dir, 'kto'), '--steps', '3', '--json']);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toMatchObject({ method: 'kto', steps: 3, examples: 600 });
  });
  it('a NaN loss fails with the step and the reason and keeps the last good adapter', async () => {
    const out = join(dir, 'nan');
    const r = await run(['optimize', 'dpo', '--local', '--policy', join(dir, 'nan-base'), '--data', join(dir, 'train.jsonl'), '--out', out, '--steps', '5']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('tuneloop: FAILED: training diverged at step 0: loss is NaN (adapter of the last good step kept in');
    expect(JSON.parse(await readFile(join(out, 'optimize.json'), 'utf8'))).toMatchObject({ status: 'failed', failedStep: 0, reason: 'loss is NaN' });
    expect(existsSync(join(out, 'adapter_model.safetensors'))).toBe(true);
  });
  it('refuses beta <= 0 and an unknown loss type with exit 2', async () => {
    const base = ['--policy', join(dir, 'base'), '--data', join(dir, 'train.jsonl'), '--out', join(dir, 'x')];
    const b = await run(['optimize', 'dpo', '--local', ...base, '--beta', '0']);
    expect([b.code, b.err]).toEqual([2, 'tuneloop: beta: must be > 0, got 0\n']);
    const l = await run(['optimize', 'dpo', '--local', ...base, '--loss-type', 'xyz']);
    expect([l.code, l.err]).toEqual([2, "tuneloop: lossType: must be one of 'sigmoid', 'hinge', 'ipo', 'robust', got 'xyz'\n"]);
    const bad = await run(['optimize', 'orpo', '--local', '--policy', join(dir, 'base'), '--data', join(dir, 'bad.jsonl'), '--out', join(dir, 'x')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('bad.jsonl: line 4');
  });
});
