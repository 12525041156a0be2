// CI-sized learning check over the PEFT registry: a short SFT run of every registered method (in process,
// through the same trainJob the worker thread runs) lowers the held-out eval loss, writes its adapter, and
// leaves no tensor behind.
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '@tuneloop/engine';
import { listPeftMethods } from '@tuneloop/peft';
import { StartTrainingRequest } from '@tuneloop/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempHome } from './testing.ts';
import { validateRequest } from './prepare.ts';
import { trainJob, type ThreadMessage } from './train-job.ts';

/** Per method: a PEFT config and a learning rate suited to its parameter scale. */
const ROWS: Record<string, { config: Record<string, unknown>; lr: number }> = {
  full: { config: {}, lr: 1e-2 },
  partial: { config: { top_k_blocks: 1, head: true }, lr: 1e-2 },
  lora: { config: { r: 4, lora_alpha: 8, target_modules: 'all-linear' }, lr: 2e-2 },
  qlora: { config: { r: 4, lora_alpha: 8, target_modules: 'all-linear', block_size: 32 }, lr: 2e-2 },
  dora: { config: { r: 4, lora_alpha: 8, target_modules: 'all-linear' }, lr: 2e-2 },
  vera: { config: { r: 16, target_modules: 'all-linear', d_initial: 0.1 }, lr: 2e-1 },
  adalora: { config: { init_r: 6, target_r: 3, tinit: 3, tfinal: 5, deltaT: 2, lora_alpha: 8, target_modules: 'all-linear' }, lr: 2e-2 },
};

let home: Awaited<ReturnType<typeof tempHome>>;
beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  home = await tempHome(64);
});
afterAll(() => home?.cleanup());

describe.each(listPeftMethods().map((m) => m.name))('SFT learning check: %s', (name) => {
  it('lowers the eval loss in 20 steps and leaks no tensors', async () => {
    const row = ROWS[name];
    expect(row, `add a ROWS entry for ${name}`).toBeDefined();
    const req = StartTrainingRequest.fromPartial({
      spec: { baseModel: { name: 'tiny' }, outputName: name, dataset: { uri: 'add.jsonl' }, training: { learningRate: row.lr, maxSteps: 20, batchSize: 8, warmupSteps: 2, maxGradNorm: 1, seed: 3 } },
      options: { method: name, methodConfigJson: JSON.stringify(row.config), evalFraction: 0.15, checkpointEvery: 1000 },
    });
    const { spec } = await validateRequest(home.home, req);
    const before = tf.memory().numTensors;
    const msgs: ThreadMessage[] = [];
    await trainJob({ jobId: `learn-${name}`, home: home.home, spec }, (m) => msgs.push(m));
    expect(tf.memory().numTensors).toBe(before);
    const ready = msgs.find((m) => m.type === 'ready');
    const done = msgs.find((m) => m.type === 'done');
    if (ready?.type !== 'ready' || done?.type !== 'done') throw new Error(`no ready/done message: ${JSON.stringify(msgs.at(-1))}`);
    expect(ready.trainable).toBeGreaterThan(0);
    expect(done.evalLoss).toBeLessThan(ready.evalLoss! * 0.9);
    expect(existsSync(path.join(done.adapterDir, 'adapter_model.safetensors'))).toBe(true);
  });
});
