// The job thread without the queue: every objective runs a few steps on a tiny seeded model and writes a PEFT
// adapter; a preference job run again on its own job folder (a redelivery) resumes from its checkpoint and
// reproduces the uninterrupted run's losses exactly (same weights, AdamW moments, batches, cached reference);
// the tensors a job allocates are released at its end.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeTinyBase } from '@tuneloop/adapter-trainer';
import { createRng, initBackend } from '@tuneloop/engine';
import { checkpointDir, type JobThreadMessage } from '@tuneloop/jobs';
import { fromFloat32, serializeSafetensors } from '@tuneloop/model';
import { DpoLossType, StartOptimizationRequest } from '@tuneloop/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import runOptimizeJob from './optimize-thread.ts';
import { validateRequest } from './prepare.ts';
import type { OptimizeJobSpec } from './job-spec.ts';

let home: string;

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  home = await mkdtemp(path.join(os.tmpdir(), 'tuneloop-optimize-thread-'));
  await writeTinyBase(path.join(home, 'models', 'tiny'), 5);
  const rng = createRng(4);
  const rows = Array.from({ length: 24 }, () => [rng.int(5), rng.int(5)]);
  await writeFile(path.join(home, 'prefs.jsonl'), rows.map(([a, b]) => JSON.stringify({ prompt: `${a}+${b}=`, chosen: String(a + b), rejected: `${a + b + 1} no` })).join('\n') + '\n');
  await writeFile(path.join(home, 'kto.jsonl'), rows.map(([a, b], i) => JSON.stringify({ prompt: `${a}+${b}=`, completion: i % 2 ? String(a + b) : 'no', label: i % 2 === 1 })).join('\n') + '\n');
  await writeFile(path.join(home, 'prompts.jsonl'), rows.map(([a, b]) => JSON.stringify({ prompt: `${a}+${b}=`, answer: String(a + b) })).join('\n') + '\n');
  // a reward model folder as `tuneloop reward train --out` writes it: a model folder + score.safetensors
  const rmDir = path.join(home, 'models', 'tiny-rm');
  const cfg = await writeTinyBase(rmDir, 9);
  const head = Array.from({ length: cfg.hiddenSize }, (_, i) => Math.sin(i + 1) / 4);
  await writeFile(path.join(rmDir, 'score.safetensors'), serializeSafetensors(new Map([['score.weight', fromFloat32(head, 'F32', [1, cfg.hiddenSize])]]), { format: 'pt' }));
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

async function specOf(spec: Record<string, unknown>, options: Record<string, unknown> = {}): Promise<OptimizeJobSpec> {
  const req = StartOptimizationRequest.fromPartial({
    spec: { baseModel: { name: 'tiny' }, dataset: { uri: 'prefs.jsonl' }, training: { learningRate: 0.02, maxSteps: 4, batchSize: 4, seed: 2 }, ...spec },
    options: { rank: 4, ...options },
  } as unknown as Parameters<typeof StartOptimizationRequest.fromPartial>[0]);
  return (await validateRequest(home, req, () => undefined)).resolved;
}

async function run(jobId: string, spec: OptimizeJobSpec): Promise<JobThreadMessage[]> {
  const out: JobThreadMessage[] = [];
  await runOptimizeJob({ jobId, home, spec, attempt: 1, checkpointDir: checkpointDir(home, jobId) }, (m) => out.push(m));
  return out;
}

const stepLosses = (ms: JobThreadMessage[]) => ms.flatMap((m) => (m.type === 'step' ? [[m.step, m.loss] as const] : []));

describe('optimization job thread', () => {
  it('a redelivered preference job resumes from its checkpoint and reproduces the same losses', async () => {
    const spec = await specOf({ objective: { $case: 'dpo', value: { beta: 0.1, lossType: DpoLossType.ROBUST, labelSmoothing: 0.1 } }, training: { learningRate: 0.02, maxSteps: 10, batchSize: 4, seed: 2 } }, { checkpointEvery: 4 });
    const before = tf.memory().numTensors;
    const first = await run('resume-1', spec);
    expect(tf.memory().numTensors).toBe(before);
    expect(first.filter((m) => m.type === 'checkpoint').map((m) => (m as { step: number }).step)).toEqual([4, 8]);
    // the job folder as a dead worker left it after step 8: the checkpoint (8) and the cached reference
    expect(existsSync(path.join(home, 'jobs', 'resume-1', 'reference.json'))).toBe(true);
    const second = await run('resume-1', spec);
    const ready = second.find((m) => m.type === 'ready') as Extract<JobThreadMessage, { type: 'ready' }>;
    expect(ready.resumedFrom).toBe(8);
    const a = stepLosses(first);
    const b = stepLosses(second);
    expect(b.map(([s]) => s)).toEqual([9, 10]);
    for (const [s, loss] of b) expect(loss).toBeCloseTo(a.find(([x]) => x === s)![1], 5);
    const done = second.at(-1) as Extract<JobThreadMessage, { type: 'done' }>;
    expect(done.type).toBe('done');
    expect(JSON.parse(await readFile(path.join(done.outputDir!, 'adapter_config.json'), 'utf8')).peft_type).toBe('LORA');
  }, 60_000);

  // RL jobs resume exactly: a job run again on its job folder (a redelivery) continues from its checkpoint with the
  // same prompts, samples, weights, optimizer moments (and PPO's value head and KL coefficient) as the first run
  it.each([
    ['GRPO', { $case: 'grpo', value: { groupSize: 4, sampling: { maxNewTokens: 3 }, verifier: { json: '{"type":"regex","pattern":"[0-9]"}' } } }, { learningRate: 0.02, maxSteps: 6, batchSize: 3, seed: 2 }],
    ['PPO', { $case: 'ppo', value: { rewardModel: { name: 'tiny-rm', version: '' }, initKlCoef: 0.05, targetKl: 1, klHorizon: 10, ppoEpochs: 2, sampling: { maxNewTokens: 3 } } }, { learningRate: 0.01, maxSteps: 6, batchSize: 4, seed: 1 }],
  ] as const)('a redelivered %s job resumes from its checkpoint and reproduces the same batches', async (name, objective, training) => {
    const spec = await specOf({ dataset: { uri: 'prompts.jsonl', format: 0 }, objective, training }, { checkpointEvery: 2 });
    const jobId = `${name.toLowerCase()}-resume`;
    const first = await run(jobId, spec);
    expect(first.filter((m) => m.type === 'checkpoint').map((m) => (m as { step: number }).step)).toEqual([2, 4]);
    const second = await run(jobId, spec);
    expect((second.find((m) => m.type === 'ready') as Extract<JobThreadMessage, { type: 'ready' }>).resumedFrom).toBe(4);
    const a = first.filter((m) => m.type === 'step') as Extract<JobThreadMessage, { type: 'step' }>[];
    const b = second.filter((m) => m.type === 'step') as Extract<JobThreadMessage, { type: 'step' }>[];
    expect(b.map((m) => m.step)).toEqual([5, 6]);
    expect(a.some((m) => m.loss !== 0)).toBe(true);
    // PPO: the adaptive coefficient moved, so the checkpoint must carry it
    if (name === 'PPO') expect(a.at(-1)!.metrics!.kl_coef).not.toBe(0.05);
    for (const m of b) {
      const twin = a.find((x) => x.step === m.step)!;
      expect(m.metrics!.reward).toBe(twin.metrics!.reward); // the same prompts and samples
      if (name === 'GRPO') expect(m.loss).toBeCloseTo(twin.loss, 6); // from the same weights and optimizer state
      else {
        expect(m.loss).toBeCloseTo(twin.loss, 5);
        expect(m.metrics!.kl_coef).toBeCloseTo(twin.metrics!.kl_coef, 10);
        expect(m.metrics!['loss/value_avg']).toBeCloseTo(twin.metrics!['loss/value_avg'], 5); // the value head came back too
      }
    }
    expect(second.at(-1)!.type).toBe('done');
  }, 60_000);

  it('a held-out file (options.eval_dataset) replaces the split: every row trains, eval_* on the file', async () => {
    await writeFile(path.join(home, 'held.jsonl'), '{"prompt":"1+1=","chosen":"2","rejected":"3 no"}\n{"prompt":"2+2=","chosen":"4","rejected":"5 no"}\n{"prompt":"3+1=","chosen":"4","rejected":"9 no"}\n');
    const spec = await specOf({ objective: { $case: 'dpo', value: { beta: 0.1, lossType: 0, labelSmoothing: 0 } } }, { evalDataset: { uri: 'held.jsonl', format: 0 } });
    expect(spec.evalFraction).toBe(0);
    const ms = await run('eval-file', spec);
    const ready = ms.find((m) => m.type === 'ready') as Extract<JobThreadMessage, { type: 'ready' }>;
    expect([ready.metrics!.train_rows, ready.metrics!.eval_rows]).toEqual([24, 3]);
    const last = ms.filter((m) => m.type === 'step').at(-1) as Extract<JobThreadMessage, { type: 'step' }>;
    expect(Number.isFinite(last.metrics!['eval_rewards/accuracies'])).toBe(true);
    await writeFile(path.join(home, 'held-bad.jsonl'), '{"prompt":"1+1=","chosen":"2","rejected":"2"}\n');
    await expect(specOf({ objective: { $case: 'dpo', value: { beta: 0.1, lossType: 0, labelSmoothing: 0 } } }, { evalDataset: { uri: 'held-bad.jsonl', format: 0 } }))
      .rejects.toThrow(/^options\.eval_dataset\.uri: held-bad\.jsonl: line 1: .*identical/);
  }, 60_000);

  it.each([
    ['ipo', { $case: 'ipo', value: { tau: 0.5 } }, 'prefs.jsonl'],
    ['orpo', { $case: 'orpo', value: { lambda: 0.2 } }, 'prefs.jsonl'],
    ['simpo', { $case: 'simpo', value: { beta: 2, gamma: 0.5, labelSmoothing: 0, cpoAlpha: 0 } }, 'prefs.jsonl'],
    ['kto (unpaired file)', { $case: 'kto', value: { beta: 0.1, desirableWeight: 1, undesirableWeight: 1 } }, 'kto.jsonl'],
    ['kto (pairs unpaired)', { $case: 'kto', value: { beta: 0.1, desirableWeight: 1, undesirableWeight: 1 } }, 'prefs.jsonl'],
  ] as const)('%s runs its steps with TRL metrics and writes an adapter', async (name, objective, uri) => {
    const spec = await specOf({ objective, dataset: { uri, format: 0 } });
    const ms = await run(`pref-${name.replace(/\W+/g, '-')}`, spec);
    const steps = ms.filter((m) => m.type === 'step') as Extract<JobThreadMessage, { type: 'step' }>[];
    expect(steps.map((m) => m.step)).toEqual([1, 2, 3, 4]);
    // (a KTO batch without desirable or undesirable examples has no rewards/chosen or /rejected: left out, as TRL)
    for (const k of ['loss', 'rewards/chosen', 'rewards/rejected', 'logps/chosen', 'logps/rejected']) expect(steps.some((m) => Number.isFinite(m.metrics![k])), k).toBe(true);
    if (!name.startsWith('kto')) expect(Number.isFinite(steps[3].metrics!['rewards/accuracies'])).toBe(true);
    else expect(Number.isFinite(steps[3].metrics!.kl)).toBe(true);
    expect(ms.at(-1)!.type).toBe('done');
  }, 60_000);

  it('PPO scores completions with the reward model folder and reports reward, KL and clip ratio', async () => {
    const spec = await specOf({
      dataset: { uri: 'prompts.jsonl', format: 5 },
      objective: { $case: 'ppo', value: { rewardModel: { name: 'tiny-rm', version: '' }, initKlCoef: 0.05, ppoEpochs: 2, sampling: { maxNewTokens: 3 } } },
      training: { learningRate: 0.01, maxSteps: 2, batchSize: 4, seed: 1 },
    });
    const before = tf.memory().numTensors;
    const ms = await run('ppo-1', spec);
    expect(tf.memory().numTensors).toBe(before);
    const steps = ms.filter((m) => m.type === 'step') as Extract<JobThreadMessage, { type: 'step' }>[];
    expect(steps.map((m) => m.step)).toEqual([1, 2]);
    for (const k of ['reward', 'kl', 'kl_coef', 'clip_ratio', 'loss/value_avg']) expect(Number.isFinite(steps[1].metrics![k]), k).toBe(true);
    expect(ms.at(-1)!.type).toBe('done');
  }, 60_000);

  it('GRPO with a reward_model verifier scores groups with the reward-model folder', async () => {
    const spec = await specOf({
      dataset: { uri: 'prompts.jsonl', format: 5 },
      objective: { $case: 'grpo', value: { groupSize: 4, passThreshold: 0, verifier: { kind: { $case: 'rewardModel', value: { name: 'tiny-rm', version: '' } } }, sampling: { maxNewTokens: 3 } } },
      training: { learningRate: 0.01, maxSteps: 2, batchSize: 2, seed: 1 },
    });
    expect(spec.verifier).toEqual({ type: 'reward_model' });
    const ms = await run('grpo-rm', spec);
    const steps = ms.filter((m) => m.type === 'step') as Extract<JobThreadMessage, { type: 'step' }>[];
    expect(steps.map((m) => m.step)).toEqual([1, 2]);
    // reward-model scores are real numbers, not 0/1 pass marks
    expect(steps.some((m) => m.metrics!.reward !== 0 && m.metrics!.reward !== 1)).toBe(true);
    await expect(specOf({ dataset: { uri: 'prompts.jsonl', format: 5 }, objective: { $case: 'grpo', value: { verifier: { kind: { $case: 'rewardModel', value: { name: 'no-rm', version: '' } } } } } }))
      .rejects.toThrow(/spec\.grpo\.verifier\.reward_model/);
  }, 60_000);

  it('an init adapter is the starting policy: training continues it, and the reference is base + init adapter', async () => {
    const first = await run('init-src', await specOf({ objective: { $case: 'dpo', value: { beta: 0.1, lossType: 0, labelSmoothing: 0 } } }));
    const dir = (first.at(-1) as Extract<JobThreadMessage, { type: 'done' }>).outputDir!;
    const spec = await specOf({ initAdapter: { name: dir, version: '' }, objective: { $case: 'dpo', value: { beta: 0.1, lossType: 0, labelSmoothing: 0 } } });
    expect(spec.method).toBe('lora');
    const ms = await run('init-cont', spec);
    const ready = ms.find((m) => m.type === 'ready') as Extract<JobThreadMessage, { type: 'ready' }>;
    // reference = the starting policy (base + init adapter): implicit rewards start at 0
    expect(ready.metrics!['eval_rewards/margins']).toBe(0);
    expect(ms.at(-1)!.type).toBe('done');
  }, 60_000);
});
