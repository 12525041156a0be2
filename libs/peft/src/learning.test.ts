// A small learning check per registered method: a few AdamW steps of next-token loss on fixed toy
// sequences with the real CausalLM lower the loss. Also the reference loop for trainers: objective
// terms are added to the loss, callbacks run after each optimizer step with the step's gradients.
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, initBackend } from '@tuneloop/engine';
import { TINY_LLAMA, causalLmLoss, tinyModel } from '@tuneloop/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { getPeftMethod, listPeftMethods } from './index.ts';

const SEQS = [
  [1, 3, 5, 7, 9, 11, 13, 15],
  [2, 4, 6, 8, 10, 12, 14, 16],
  [1, 4, 7, 10, 13, 16, 3, 6],
];

/** Per method: a small config and a learning rate that suits its parameter scale. */
const ROWS: Record<string, { config: Record<string, unknown>; lr: number }> = {
  full: { config: {}, lr: 1e-2 },
  partial: { config: { top_k_blocks: 1, head: true }, lr: 1e-2 },
  lora: { config: { r: 4, lora_alpha: 8, target_modules: 'all-linear' }, lr: 2e-2 },
  qlora: { config: { r: 4, lora_alpha: 8, target_modules: 'all-linear', block_size: 32 }, lr: 2e-2 },
  dora: { config: { r: 4, lora_alpha: 8, target_modules: 'all-linear' }, lr: 2e-2 },
  vera: { config: { r: 16, target_modules: 'all-linear', d_initial: 0.1 }, lr: 5e-2 },
  adalora: { config: { init_r: 6, target_r: 3, tinit: 2, tfinal: 3, total_step: 12, lora_alpha: 8, target_modules: 'all-linear' }, lr: 2e-2 },
};
const STEPS = 12;

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
});

describe.each(listPeftMethods().map((m) => m.name))('learning: %s', (name) => {
  it('lowers the next-token loss in 12 AdamW steps', () => {
    const row = ROWS[name];
    expect(row, `add a ROWS entry for ${name}`).toBeDefined();
    const model = tinyModel(TINY_LLAMA, 5);
    const method = getPeftMethod(name);
    const pm = method.apply(model, method.parseConfig(row.config), { seed: 1 });
    pm.setTraining(true);
    const vars = pm.trainableVariables();
    const opt = new AdamW({ weightDecay: 0 });
    const lossOf = () => tf.tidy(() => causalLmLoss(model, SEQS).dataSync()[0]);
    const before = lossOf();
    for (let step = 1; step <= STEPS; step++) {
      const { value, grads } = tf.variableGrads(() => {
        const terms = pm.objectiveTerms.map((t) => t.compute());
        return tf.addN([causalLmLoss(model, SEQS), ...terms]) as tf.Scalar;
      }, vars);
      opt.apply(vars, vars.map((v) => grads[v.name]), row.lr);
      const byName = new Map(Object.entries(grads));
      for (const cb of pm.callbacks) cb.onStepEnd({ step, grads: byName });
      tf.dispose([value, ...Object.values(grads)]);
    }
    const after = lossOf();
    expect(after).toBeLessThan(before * 0.9);
    pm.unload();
    model.dispose();
  });
});
