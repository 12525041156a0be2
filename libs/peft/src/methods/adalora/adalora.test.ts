// AdaLoRA: PEFT's cubic budget schedule, the rank allocator as a trainer callback reaching the target
// budget on a real training run, rank_pattern-sliced PEFT files that reload exactly, and the orthogonality term.
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, initBackend } from '@tuneloop/engine';
import { TINY_LLAMA, causalLmLoss, tinyModel } from '@tuneloop/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { budgetSchedule, decodeAdapterFiles, encodeAdapterFiles, getPeftMethod, loadAdapter, saveAdapter } from '../../index.ts';
import type { AdaLoraConfig } from './config.ts';
import type { SvdLayer } from './layer.ts';

const ada = getPeftMethod('adalora');
const SEQS = [
  [1, 3, 5, 7, 9, 11],
  [2, 4, 6, 8, 10, 12],
];

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
});

describe('AdaLoRA budget schedule (PEFT RankAllocator.budget_schedule)', () => {
  const c = ada.parseConfig({ init_r: 12, target_r: 4, tinit: 2, tfinal: 3, total_step: 12, deltaT: 1 }) as AdaLoraConfig;
  it('holds init during warm-up, decays cubically, then holds target', () => {
    expect(budgetSchedule(2, 24, 8, c)).toEqual({ budget: 24, mask: false });
    // 1 - (3 - 2) / (12 - 3 - 2) = 6/7; trunc(16 * (6/7)^3 + 8) = trunc(18.0758)
    expect(budgetSchedule(3, 24, 8, c)).toEqual({ budget: 18, mask: true });
    expect(budgetSchedule(9, 24, 8, c)).toEqual({ budget: 8, mask: true });
    expect(budgetSchedule(10, 24, 8, c)).toEqual({ budget: 8, mask: true });
    expect(budgetSchedule(3, 24, 8, { ...c, deltaT: 2 })).toEqual({ budget: 18, mask: false });
  });
  it('rejects schedules with no budget phase', () => {
    expect(() => ada.parseConfig({ total_step: 5, tinit: 3, tfinal: 2 })).toThrow('tinit: must be < total_step - tfinal (3) so that the budget phase is not empty, got 3');
    expect(() => ada.parseConfig({})).toThrow('total_step: must be an integer >= 1, got undefined');
    expect(() => ada.parseConfig({ total_step: 10, init_r: 4, target_r: 6 })).toThrow('target_r: must be <= init_r (4), got 6');
  });
});

describe('AdaLoRA rank allocation as a trainer callback', () => {
  it('prunes to target_r * modules singular values, saves PEFT-sliced tensors, and reloads to the same outputs', () => {
    const model = tinyModel(TINY_LLAMA, 4);
    const config = ada.parseConfig({ init_r: 4, target_r: 2, tinit: 1, tfinal: 2, total_step: 8, target_modules: ['q_proj', 'o_proj'], lora_alpha: 8 });
    const pm = ada.apply(model, config, { seed: 2 });
    const vars = pm.trainableVariables();
    const opt = new AdamW({ weightDecay: 0 });
    for (let step = 1; step <= 8; step++) {
      const { value, grads } = tf.variableGrads(() => tf.addN([causalLmLoss(model, SEQS), ...pm.objectiveTerms.map((t) => t.compute())]) as tf.Scalar, vars);
      opt.apply(vars, vars.map((v) => grads[v.name]), 0.05);
      pm.callbacks[0].onStepEnd({ step, grads: new Map(Object.entries(grads)) });
      tf.dispose([value, ...Object.values(grads)]);
    }
    const pattern = pm.config.rank_pattern as Record<string, boolean[]>;
    expect(Object.keys(pattern).sort()).toEqual(
      [0, 1].flatMap((i) => [`model.layers.${i}.self_attn.o_proj.lora_E`, `model.layers.${i}.self_attn.q_proj.lora_E`]).sort(),
    );
    const kept = Object.values(pattern).reduce((n, p) => n + p.filter(Boolean).length, 0);
    expect(kept).toBe(2 * 4); // target_r * modules
    for (const [name, layer] of pm.layers) {
      const e = layer.tensor('lora_E').dataSync();
      pattern[`${name}.lora_E`].forEach((keep, i) => expect(Math.abs(e[i]) > 0).toBe(keep));
    }
    const files = saveAdapter(pm);
    expect(files.adapterConfig).toMatchObject({ peft_type: 'ADALORA', init_r: 4, target_r: 2, tinit: 1, tfinal: 2, deltaT: 1, beta1: 0.85, beta2: 0.85, orth_reg_weight: 0.5, total_step: 8 });
    const q0 = 'model.layers.0.self_attn.q_proj';
    const r0 = pattern[`${q0}.lora_E`].filter(Boolean).length;
    expect(files.tensors.get(`base_model.model.${q0}.lora_A`)?.shape).toEqual([r0, 16]);
    expect(files.tensors.get(`base_model.model.${q0}.lora_B`)?.shape).toEqual([16, r0]);
    expect(files.tensors.get(`base_model.model.${q0}.lora_E`)?.shape).toEqual([r0, 1]);
    expect(Array.from(files.tensors.get(`base_model.model.${q0}.ranknum`)?.data ?? [])).toEqual([4]);
    const y = model.forward({ inputIds: SEQS });
    const bytes = encodeAdapterFiles(files);
    const model2 = tinyModel(TINY_LLAMA, 4);
    const pm2 = loadAdapter(model2, decodeAdapterFiles(bytes['adapter_config.json'], bytes['adapter_model.safetensors']));
    expect((pm2.layers.get(q0) as SvdLayer).rank).toBe(r0);
    const y2 = model2.forward({ inputIds: SEQS });
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(y, y2))).dataSync()[0])).toBeLessThan(1e-5);
    tf.dispose([y, y2]);
    pm.unload();
    pm2.unload();
    model.dispose();
    model2.dispose();
  });

  it('needs the step gradients, by variable name', () => {
    const model = tinyModel(TINY_LLAMA, 4);
    const pm = ada.apply(model, ada.parseConfig({ total_step: 4, target_modules: ['q_proj'] }));
    expect(() => pm.callbacks[0].onStepEnd({ step: 1, grads: new Map() })).toThrow(/adalora: no gradient for '.*lora_A.*' at step 1/);
    pm.unload();
    model.dispose();
  });
});

describe('AdaLoRA orthogonality regulariser (objective term)', () => {
  it('is 0 for orthonormal P, Q and its gradient matches finite differences', () => {
    const model = tinyModel(TINY_LLAMA, 4);
    const pm = ada.apply(model, ada.parseConfig({ init_r: 3, total_step: 4, target_r: 2, target_modules: ['model.layers.0.self_attn.q_proj'], orth_reg_weight: 0.5 }));
    const layer = pm.layers.get('model.layers.0.self_attn.q_proj') as SvdLayer;
    const term = pm.objectiveTerms[0];
    const A = layer.tensor('lora_A'); // P^T [in, r]
    layer.setTensor('lora_A', tf.slice(tf.eye(16), [0, 0], [3, 16])); // P rows orthonormal: P P^T = I
    layer.setTensor('lora_B', tf.slice(tf.eye(16), [0, 0], [16, 3])); // Q columns orthonormal: Q^T Q = I
    expect(tf.tidy(() => term.compute().dataSync()[0])).toBeLessThan(1e-6);
    A.assign(tf.add(A, tf.mul(tf.randomNormal(A.shape, 0, 1, 'float32', 3), 0.3)));
    // 0.5 * (||P P^T - I||_F + ||Q^T Q - I||_F) / 2, Q term still 0
    const P = layer.exportTensor('lora_A').arraySync() as number[][];
    let fro = 0;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) fro += (P[i].reduce((s, v, k) => s + v * P[j][k], 0) - (i === j ? 1 : 0)) ** 2;
    expect(tf.tidy(() => term.compute().dataSync()[0])).toBeCloseTo((0.5 * Math.sqrt(fro)) / 2, 5);
    const { grads } = tf.variableGrads(() => term.compute(), [A]);
    const g = grads[A.name].dataSync();
    const vals = A.dataSync().slice();
    for (const i of [0, 17, 40]) {
      const at = (d: number) => {
        const p = vals.slice();
        p[i] += d;
        A.assign(tf.tensor(p, A.shape));
        return tf.tidy(() => term.compute().dataSync()[0]);
      };
      const fd = (at(1e-2) - at(-1e-2)) / 2e-2;
      expect(Math.abs(fd - g[i])).toBeLessThan(2e-3);
    }
    tf.dispose(Object.values(grads));
    pm.unload();
    model.dispose();
  });
});
