// One conformance suite over every registered PEFT method: adding a method adds a row to CASES.
// Checks: fresh adapter = base, trainable count = formula = plan, save/load round trip through the
// PEFT file bytes, merge = unmerged, gradients only on trainable tensors, no tensor leak across steps.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@tuneloop/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeAdapterFiles, encodeAdapterFiles, getPeftMethod, listPeftMethods, loadAdapter, saveAdapter, shapesOfHost, type PeftModel } from './index.ts';
import { normalTensor } from './core/random.ts';
import { CausalLM, TINY_LLAMA, causalLmLoss, tinyModel } from '@tuneloop/model';

interface Case {
  config: Record<string, unknown>;
  /** Trainable parameters by the method's formula on TINY_LLAMA (hidden 16, kv 8, inter 24, 2 layers, vocab 17, untied). */
  expectedTrainable: number;
  /** A fresh adapter leaves the base outputs unchanged (B = 0 / b = 0 / lambda = 0). */
  identityAtInit: boolean;
  /** Loading needs the method named (its files are another method's format), and fields the file lacks. */
  loadAs?: string;
  loadOverrides?: Record<string, unknown>;
  /** Outputs compared with this tolerance (QLoRA's dequantized merge differs by float rounding only). */
  tol?: number;
}

const CASES: Record<string, Case> = {
  // linears per block: q 16*16, k 16*8, v 16*8, o 16*16, gate/up 16*24, down 24*16 = 1920, + 2 norms 32;
  // x2 blocks + embed 17*16 + final norm 16 + lm_head 17*16
  full: { config: {}, expectedTrainable: 2 * 1952 + 272 + 16 + 272, identityAtInit: true },
  // block 1 (1952) + block 0's q_proj (256)
  partial: { config: { top_k_blocks: 1, modules: ['q_proj'], head: false }, expectedTrainable: 1952 + 256, identityAtInit: true },
  // r (in + out): q 2*32, v 2*24, down 2*40 = 192 per block
  lora: { config: { r: 2, lora_alpha: 4, target_modules: ['q_proj', 'v_proj', 'down_proj'] }, expectedTrainable: 2 * 192, identityAtInit: true },
  // q 2*32 + v 2*24 = 112 per block
  qlora: { config: { r: 2, target_modules: ['q_proj', 'v_proj'], block_size: 32 }, expectedTrainable: 2 * 112, identityAtInit: false, loadAs: 'qlora', loadOverrides: { block_size: 32 } },
  // r (in + out) + out over the 7 block linears: 80 + 56 + 56 + 80 + 104 + 104 + 96 = 576 per block
  dora: { config: { r: 2, lora_alpha: 2, target_modules: 'all-linear' }, expectedTrainable: 2 * 576, identityAtInit: true },
  // r + out: q 4+16, k 4+8, up 4+24, down 4+16 = 80 per block
  vera: { config: { r: 4, target_modules: ['q_proj', 'k_proj', 'up_proj', 'down_proj'] }, expectedTrainable: 2 * 80, identityAtInit: true },
  // init_r (in + out + 1): q 4*33, o 4*33 = 264 per block
  adalora: { config: { init_r: 4, target_r: 2, total_step: 10, tinit: 2, tfinal: 2, target_modules: ['q_proj', 'o_proj'] }, expectedTrainable: 2 * 264, identityAtInit: true },
};

const IDS = [
  [1, 5, 9, 3, 7, 11, 2],
  [4, 8, 12, 16, 3, 6, 2],
];

function logits(model: CausalLM): tf.Tensor {
  return model.forward({ inputIds: IDS });
}

function apply(name: string, host: CausalLM): PeftModel {
  const m = getPeftMethod(name);
  return m.apply(host, m.parseConfig(CASES[name].config), { seed: 3 });
}

/** Give every trainable tensor random values, so adapters are not no-ops. */
function perturb(pm: PeftModel, seed: number): void {
  let s = seed;
  for (const v of pm.trainableVariables()) {
    const seed = s++;
    tf.tidy(() => v.assign(tf.add(v, normalTensor(v.shape, 0.1, seed))));
  }
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** max |a - b| relative to max(1, max |a|). */
function relDiff(a: tf.Tensor, b: tf.Tensor): number {
  return maxDiff(a, b) / Math.max(1, tf.tidy(() => tf.max(tf.abs(a)).dataSync()[0]));
}

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
});

describe('registry', () => {
  it('has one row per registered method', () => {
    expect(listPeftMethods().map((m) => m.name).sort()).toEqual(Object.keys(CASES).sort());
  });
});

describe.each(listPeftMethods().map((m) => m.name))('conformance: %s', (name) => {
  const c = CASES[name];

  it('a fresh adapter leaves the base model outputs unchanged', () => {
    const host = tinyModel(TINY_LLAMA, 1);
    const before = logits(host);
    const pm = apply(name, host);
    const after = logits(host);
    if (c.identityAtInit) expect(maxDiff(before, after)).toBeLessThan(1e-6);
    else expect(relDiff(before, after)).toBeLessThan(0.2); // QLoRA: only the 4-bit rounding of the base
    pm.unload();
    tf.dispose([before, after]);
    host.dispose();
  });

  it('unload frees every tensor the method created and gives the model back trainable', () => {
    const start = tf.memory().numTensors;
    const host = tinyModel(TINY_LLAMA, 1);
    const y = logits(host);
    const pm = apply(name, host);
    perturb(pm, 50);
    logits(host).dispose();
    if (getPeftMethod(name).mergeable) {
      pm.merge();
      pm.unmerge();
    }
    pm.unload();
    expect(host.trainableVariables().length).toBe(host.variables().length);
    y.dispose();
    host.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });

  it('trainable parameter count matches the formula and the plan', () => {
    const host = tinyModel(TINY_LLAMA, 1);
    const shapes = shapesOfHost(host);
    const method = getPeftMethod(name);
    const plan = method.plan(shapes, method.parseConfig(c.config));
    const pm = apply(name, host);
    const report = pm.parameterReport();
    expect(report.trainable).toBe(c.expectedTrainable);
    expect(plan.reduce((n, r) => n + r.trainable, 0)).toBe(c.expectedTrainable);
    expect(report.total).toBe(plan.reduce((n, r) => n + r.total, 0));
    expect(pm.trainableReportLine()).toMatch(/^trainable params: [\d,]+ \|\| all params: [\d,]+ \|\| trainable%: \d+\.\d{4}$/);
    pm.unload();
    host.dispose();
  });

  it('save / load round trip through adapter_config.json + adapter_model.safetensors bytes', () => {
    const host = tinyModel(TINY_LLAMA, 1);
    const pm = apply(name, host);
    perturb(pm, 100);
    const y = logits(host);
    const bytes = encodeAdapterFiles(saveAdapter(pm, { baseModel: 'toy/base' }));
    const files = decodeAdapterFiles(bytes['adapter_config.json'], bytes['adapter_model.safetensors']);
    const host2 = tinyModel(TINY_LLAMA, 1);
    const pm2 = loadAdapter(host2, files, { method: c.loadAs, overrides: c.loadOverrides });
    const y2 = logits(host2);
    expect(relDiff(y, y2)).toBeLessThan(1e-6);
    const t1 = pm.namedTrainable();
    const t2 = pm2.namedTrainable();
    expect([...t2.keys()].sort()).toEqual([...t1.keys()].sort());
    for (const [k, v] of t1) expect(maxDiff(v, t2.get(k) as tf.Tensor)).toBe(0);
    pm.unload();
    pm2.unload();
    tf.dispose([y, y2]);
    host.dispose();
    host2.dispose();
  });

  it('merged forward equals the adapter forward; unmerge restores it exactly', () => {
    const method = getPeftMethod(name);
    const host = tinyModel(TINY_LLAMA, 1);
    const pm = apply(name, host);
    if (!method.mergeable) {
      expect(() => pm.merge()).toThrow(/no adapter to merge/);
      pm.unload();
      host.dispose();
      return;
    }
    perturb(pm, 200);
    const y = logits(host);
    const reports = pm.merge();
    expect(reports.every((r) => r.dequantized === (name === 'qlora'))).toBe(true);
    const yMerged = logits(host);
    expect(relDiff(y, yMerged)).toBeLessThan(c.tol ?? 2e-6);
    pm.unmerge();
    const yBack = logits(host);
    expect(maxDiff(y, yBack)).toBe(0);
    pm.unload();
    tf.dispose([y, yMerged, yBack]);
    host.dispose();
  });

  it('gradients reach only trainable tensors, and frozen tensors do not change in a step; no tensor leak', () => {
    const host = tinyModel(TINY_LLAMA, 1);
    const pm = apply(name, host);
    perturb(pm, 300);
    pm.setTraining(true);
    const trainable = pm.trainableVariables();
    const trainableSet = new Set(trainable);
    const adapterVars = [...pm.layers.values()].flatMap((l) => [...l.tensors.values()]);
    const everything = [...host.variables(), ...adapterVars];
    const byId = (vs: tf.Variable[]) => vs.map((v) => v.id).sort((a, b) => a - b);
    // exactly the declared tensors are marked trainable (tf.variableGrads' default list) and the model agrees
    expect(byId(everything.filter((v) => v.trainable))).toEqual(byId(trainable));
    expect(byId(host.trainableVariables())).toEqual(byId(trainable));
    const frozenBefore = everything.filter((v) => !trainableSet.has(v)).map((v) => v.clone());
    const lossFn = () => causalLmLoss(host, IDS);
    const counts: number[] = [];
    for (let step = 0; step < 3; step++) {
      const { value, grads } = tf.variableGrads(lossFn);
      const names = Object.keys(grads).filter((k) => everything.some((v) => v.name === k));
      expect(names.sort()).toEqual(trainable.map((v) => v.name).sort());
      for (const v of trainable) expect(Number.isFinite(tf.tidy(() => tf.sum(tf.abs(grads[v.name])).dataSync()[0]))).toBe(true);
      tf.tidy(() => {
        for (const v of trainable) v.assign(tf.sub(v, tf.mul(grads[v.name], 0.01)));
      });
      tf.dispose([value, ...Object.values(grads)]);
      counts.push(tf.memory().numTensors);
    }
    expect(counts[2]).toBe(counts[1]);
    everything.filter((v) => !trainableSet.has(v)).forEach((v, i) => expect(maxDiff(v, frozenBefore[i])).toBe(0));
    pm.unload();
    tf.dispose(frozenBefore);
    host.dispose();
  });
});
