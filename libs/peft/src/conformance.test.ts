// One conformance suite over every registered PEFT method: adding a method adds a row to CASES.
// Checks: fresh adapter = base, trainable count = formula = plan, save/load round trip through the
// PEFT file bytes, merge = unmerged, gradients only on trainable tensors, no tensor leak across steps.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@tuneloop/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeAdapterFiles, encodeAdapterFiles, getPeftMethod, listPeftMethods, loadAdapter, saveAdapter, shapesOfHost, type PeftModel } from './index.ts';
import { normalTensor } from './core/random.ts';
import { ToyModel, toyInput } from '../test/toy-model.ts';

interface Case {
  config: Record<string, unknown>;
  /** Trainable parameters by the method's formula on the toy model (hidden 8, kv 4, inter 12, 2 layers, vocab 6). */
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
  // linears per block: q 8*8+8, k 8*4+4, v 8*4+4, o 8*8, gate/up 8*12, down 12*8 = 496; x2 + norms 24 + lm_head 48
  full: { config: {}, expectedTrainable: 2 * 496 + 24 + 48, identityAtInit: true },
  // block 1 (496 + its norm 8) + block 0's q_proj (72)
  partial: { config: { top_k_blocks: 1, modules: ['q_proj'], head: false }, expectedTrainable: 504 + 72, identityAtInit: true },
  // r (in + out): q 2*16, v 2*12, down 2*20 = 96 per block
  lora: { config: { r: 2, lora_alpha: 4, target_modules: ['q_proj', 'v_proj', 'down_proj'] }, expectedTrainable: 2 * 96, identityAtInit: true },
  // q 2*16 + v 2*12 = 56 per block
  qlora: { config: { r: 2, target_modules: ['q_proj', 'v_proj'], block_size: 32 }, expectedTrainable: 2 * 56, identityAtInit: false, loadAs: 'qlora', loadOverrides: { block_size: 32 }, tol: 2e-6 },
  // r (in + out) + out over all 7 linears: 40 + 28 + 28 + 40 + 52 + 52 + 48 = 288 per block
  dora: { config: { r: 2, lora_alpha: 2, target_modules: 'all-linear' }, expectedTrainable: 2 * 288, identityAtInit: true },
  // r + out: q 4+8, k 4+4, up 4+12, down 4+8 = 48 per block
  vera: { config: { r: 4, target_modules: ['q_proj', 'k_proj', 'up_proj', 'down_proj'] }, expectedTrainable: 2 * 48, identityAtInit: true },
  // init_r (in + out + 1): q 4*17, o 4*17 = 136 per block
  adalora: { config: { init_r: 4, target_r: 2, total_step: 10, tinit: 2, tfinal: 2, target_modules: ['q_proj', 'o_proj'] }, expectedTrainable: 2 * 136, identityAtInit: true },
};

function apply(name: string, host: ToyModel): PeftModel {
  const m = getPeftMethod(name);
  return m.apply(host, m.parseConfig(CASES[name].config), { seed: 3 });
}

/** Give every trainable tensor random values, so adapters are not no-ops. */
function perturb(pm: PeftModel, seed: number): void {
  let s = seed;
  for (const v of pm.trainableVariables()) {
    const t = normalTensor(v.shape, 0.1, s++);
    v.assign(tf.add(v, t));
    t.dispose();
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
  const x = () => toyInput(5, 42);

  it('a fresh adapter leaves the base model outputs unchanged', () => {
    const host = new ToyModel();
    const xs = x();
    const before = host.forward(xs);
    const pm = apply(name, host);
    const after = host.forward(xs);
    if (c.identityAtInit) expect(maxDiff(before, after)).toBeLessThan(1e-6);
    else expect(relDiff(before, after)).toBeLessThan(0.2); // QLoRA: only the 4-bit rounding of the base
    pm.unload();
    tf.dispose([xs, before, after]);
    host.dispose();
  });

  it('trainable parameter count matches the formula and the plan', () => {
    const host = new ToyModel();
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
    const host = new ToyModel();
    const pm = apply(name, host);
    perturb(pm, 100);
    const xs = x();
    const y = host.forward(xs);
    const bytes = encodeAdapterFiles(saveAdapter(pm, { baseModel: 'toy/base' }));
    const files = decodeAdapterFiles(bytes['adapter_config.json'], bytes['adapter_model.safetensors']);
    const host2 = new ToyModel();
    const pm2 = loadAdapter(host2, files, { method: c.loadAs, overrides: c.loadOverrides });
    const y2 = host2.forward(xs);
    expect(relDiff(y, y2)).toBeLessThan(1e-6);
    const t1 = pm.namedTrainable();
    const t2 = pm2.namedTrainable();
    expect([...t2.keys()].sort()).toEqual([...t1.keys()].sort());
    for (const [k, v] of t1) expect(maxDiff(v, t2.get(k) as tf.Tensor)).toBe(0);
    pm.unload();
    pm2.unload();
    tf.dispose([xs, y, y2]);
    host.dispose();
    host2.dispose();
  });

  it('merged forward equals the adapter forward; unmerge restores it exactly', () => {
    const method = getPeftMethod(name);
    const host = new ToyModel();
    const pm = apply(name, host);
    if (!method.mergeable) {
      expect(() => pm.merge()).toThrow(/no adapter to merge/);
      pm.unload();
      host.dispose();
      return;
    }
    perturb(pm, 200);
    const xs = x();
    const y = host.forward(xs);
    const reports = pm.merge();
    expect(reports.every((r) => r.dequantized === (name === 'qlora'))).toBe(true);
    const yMerged = host.forward(xs);
    expect(relDiff(y, yMerged)).toBeLessThan(c.tol ?? 2e-6);
    pm.unmerge();
    const yBack = host.forward(xs);
    expect(maxDiff(y, yBack)).toBe(0);
    pm.unload();
    tf.dispose([xs, y, yMerged, yBack]);
    host.dispose();
  });

  it('gradients reach only trainable tensors, and frozen tensors do not change in a step; no tensor leak', () => {
    const host = new ToyModel();
    const pm = apply(name, host);
    perturb(pm, 300);
    pm.setTraining(true);
    const trainable = pm.trainableVariables();
    const trainableSet = new Set(trainable);
    const adapterVars = [...pm.layers.values()].flatMap((l) => [...l.tensors.values()]);
    const everything = [...host.allVariables(), ...adapterVars].filter((v) => !v.isDisposed);
    // exactly the declared tensors are marked trainable: the default variable list of tf.variableGrads
    expect(everything.filter((v) => v.trainable).sort((a, b) => a.id - b.id)).toEqual([...trainable].sort((a, b) => a.id - b.id));
    const frozenBefore = everything.filter((v) => !trainableSet.has(v)).map((v) => v.clone());
    const xs = x();
    const target = tf.slice(toyInput(5, 43), [0, 0], [5, 6]);
    const lossFn = () => tf.mean(tf.square(tf.sub(host.forward(xs), target))) as tf.Scalar;
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
    tf.dispose([xs, target, ...frozenBefore]);
    host.dispose();
  });
});
