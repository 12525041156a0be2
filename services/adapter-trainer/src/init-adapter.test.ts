// spec.init_adapter in the job itself (in process, through the same trainJob the worker thread runs): training
// starts from the adapter's weights, and a job resumed from its checkpoint replays the remaining steps exactly (the
// checkpoint's trainable weights replace the loaded adapter's). Every registered method's adapter passes
// StartTraining's fit check and continues where it ended.
import { cpSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@tuneloop/engine';
import { decodeAdapterFiles, listPeftMethods } from '@tuneloop/peft';
import { StartTrainingRequest } from '@tuneloop/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointDir } from './checkpoint.ts';
import { validateRequest } from './prepare.ts';
import { tempHome } from './testing.ts';
import { trainJob, type ThreadMessage } from './train-job.ts';

/** Small configs per method for the every-method row (PEFT field names). */
const METHODS: Record<string, Record<string, unknown>> = {
  partial: { top_k_blocks: 1, head: true },
  lora: { r: 4, target_modules: 'all-linear' },
  qlora: { r: 4, target_modules: 'all-linear', block_size: 32 },
  dora: { r: 4, target_modules: 'all-linear' },
  vera: { r: 16, target_modules: 'all-linear', d_initial: 0.1 },
  adalora: { init_r: 6, target_r: 3, tinit: 1, tfinal: 1, deltaT: 1, target_modules: 'all-linear' },
};

let home: Awaited<ReturnType<typeof tempHome>>;
beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  home = await tempHome(48);
});
afterAll(() => home?.cleanup());

function request(over: { initAdapter?: string; maxSteps: number; outputName: string }): StartTrainingRequest {
  return StartTrainingRequest.fromPartial({
    spec: {
      baseModel: { name: 'tiny' }, outputName: over.outputName, dataset: { uri: 'add.jsonl' },
      ...(over.initAdapter ? { initAdapter: { name: over.initAdapter } } : {}),
      training: { learningRate: 0.02, maxSteps: over.maxSteps, batchSize: 8, maxGradNorm: 1, seed: 5 },
    },
    options: over.initAdapter ? { checkpointEvery: 4 } : { method: 'lora', rank: 4, targetModules: ['all-linear'], checkpointEvery: 100 },
  });
}

async function run(jobId: string, req: StartTrainingRequest, onMessage: (m: ThreadMessage) => void = () => {}) {
  const { spec } = await validateRequest(home.home, req);
  const msgs: ThreadMessage[] = [];
  await trainJob({ jobId, home: home.home, spec }, (m) => {
    msgs.push(m);
    onMessage(m);
  });
  const ready = msgs.find((m) => m.type === 'ready');
  const done = msgs.find((m) => m.type === 'done');
  if (ready?.type !== 'ready' || done?.type !== 'done') throw new Error(`no ready/done message: ${JSON.stringify(msgs.at(-1))}`);
  const losses = new Map(msgs.flatMap((m) => (m.type === 'step' ? [[m.report.step, m.report.loss] as const] : [])));
  return { spec, ready, done, losses };
}

it('continues from the init adapter, and resumes such a job exactly from its checkpoint', async () => {
  const seed = await run('init-seed', request({ maxSteps: 10, outputName: 'seed' }));
  const init = seed.done.adapterDir;

  // the whole job, keeping a copy of its step-4 checkpoint
  const saved = path.join(home.home, 'ck-step-4');
  const before = tf.memory().numTensors;
  const whole = await run('init-whole', request({ initAdapter: init, maxSteps: 12, outputName: 'cont' }), (m) => {
    if (m.type === 'checkpoint' && m.step === 4) cpSync(checkpointDir(home.home, 'init-whole'), saved, { recursive: true });
  });
  expect(tf.memory().numTensors).toBe(before);
  expect(whole.spec.method).toBe('lora');
  expect(whole.spec.initAdapter).toEqual({ ref: { name: init, version: '' } });
  // it starts where the seed job ended, not at a fresh adapter's (the base's) eval loss
  expect(whole.ready.evalLoss).toBeCloseTo(seed.done.evalLoss!, 4);
  expect(whole.ready.evalLoss!).toBeLessThan(seed.ready.evalLoss! - 0.05);

  // the same job killed after step 4: a new attempt resumes from that checkpoint
  cpSync(saved, checkpointDir(home.home, 'init-resumed'), { recursive: true });
  const resumed = await run('init-resumed', request({ initAdapter: init, maxSteps: 12, outputName: 'cont' }));
  expect(resumed.ready.resumedFrom).toBe(4);
  expect([...resumed.losses.keys()]).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
  for (const [step, loss] of resumed.losses) expect(loss, `step ${step}`).toBe(whole.losses.get(step));
  const tensors = async (dir: string) => decodeAdapterFiles(await readFile(path.join(dir, 'adapter_config.json'), 'utf8'), await readFile(path.join(dir, 'adapter_model.safetensors'))).tensors;
  const [a, b] = [await tensors(whole.done.adapterDir), await tensors(resumed.done.adapterDir)];
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [k, t] of a) expect(b.get(k)!.data, k).toEqual(t.data);
});

describe.each(listPeftMethods().map((m) => m.name))('init adapter of method %s', (name) => {
  it('passes the fit check and trains on', async () => {
    const row = METHODS[name] ?? {};
    const made = await run(`made-${name}`, StartTrainingRequest.fromPartial({
      spec: { baseModel: { name: 'tiny' }, outputName: `made-${name}`, dataset: { uri: 'add.jsonl' }, training: { learningRate: 0.01, maxSteps: 4, batchSize: 8, seed: 5 } },
      options: { method: name, methodConfigJson: JSON.stringify(row), checkpointEvery: 100 },
    }));
    const cont = await run(`cont-${name}`, request({ initAdapter: made.done.adapterDir, maxSteps: 2, outputName: `cont-${name}` }));
    if (name === 'qlora') {
      // QLoRA's files are LoRA's (nothing in them says QLoRA): they continue as LoRA on the unquantized base
      expect(cont.spec.method).toBe('lora');
      expect(cont.ready.evalLoss!).toBeLessThan(made.ready.evalLoss!);
    } else {
      expect(cont.spec.method).toBe(name);
      expect(cont.ready.evalLoss).toBeCloseTo(made.done.evalLoss!, 4);
    }
  });
});
