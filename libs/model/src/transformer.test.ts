// Numerical tests of the transformer on both wasm and cpu: causality, padding invariance, gradients vs
// central finite differences, HF weight round trip, and no tensor growth over 50 train steps.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, assertNoTensorGrowth, initBackend } from '@tuneloop/engine';
import { TINY_LLAMA, TINY_QWEN2, tinyModel } from './test-fixtures.ts';
import { buildLogprobBatch, causalLmLoss, sequenceLogprobs } from './logprobs.ts';
import { CausalLM } from './transformer.ts';
import { countParameters } from './weights.ts';
import type { LinearModule } from './linear.ts';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  expect(worst).toBeLessThan(tol);
};

describe.each(['wasm', 'cpu'] as const)('transformer on %s', (backend) => {
  beforeAll(async () => {
    await initBackend({ backend, quiet: true });
  });

  it('is causal: changing token t+1 leaves logits at positions <= t unchanged', () => {
    for (const cfg of [TINY_LLAMA, TINY_QWEN2]) {
      const m = tinyModel(cfg);
      const a = [[3, 5, 7, 9, 11, 13]];
      const b = [[3, 5, 7, 4, 12, 1]];
      const la = tf.tidy(() => m.forward({ inputIds: a }).arraySync()) as number[][][];
      const lb = tf.tidy(() => m.forward({ inputIds: b }).arraySync()) as number[][][];
      for (let t = 0; t <= 2; t++) close(la[0][t], lb[0][t], 1e-6);
      expect(Math.max(...la[0][3].map((x, i) => Math.abs(x - lb[0][3][i])))).toBeGreaterThan(1e-3);
      m.dispose();
    }
  });

  it('gives the same per-sequence log-probs padded (left or right) as unpadded', () => {
    for (const cfg of [TINY_LLAMA, TINY_QWEN2]) {
      const m = tinyModel(cfg);
      const prompts = [[1, 4, 5], [1, 6, 7, 8, 9, 10]];
      const completions = [[11, 12, 2], [13, 2]];
      const single = prompts.map((p, i) => {
        const r = sequenceLogprobs(m, buildLogprobBatch([p], [completions[i]], 0));
        const lp = Array.from(r.logprobs.dataSync());
        const mk = Array.from(r.mask.dataSync());
        tf.dispose([r.logprobs, r.mask]);
        return lp.filter((_, j) => mk[j] === 1);
      });
      for (const side of ['left', 'right'] as const) {
        const r = sequenceLogprobs(m, buildLogprobBatch(prompts, completions, 0, side));
        const lp = r.logprobs.arraySync();
        const mk = r.mask.arraySync();
        tf.dispose([r.logprobs, r.mask]);
        for (let i = 0; i < 2; i++) {
          const got = lp[i].filter((_, j) => mk[i][j] === 1);
          expect(got.length).toBe(completions[i].length);
          close(got, single[i], 1e-5);
        }
      }
      m.dispose();
    }
  });

  it('matches central finite differences for the LM loss gradient', () => {
    for (const cfg of [TINY_LLAMA, TINY_QWEN2]) {
      const m = tinyModel(cfg, 3, 0.3);
      const ids = [[1, 5, 9, 3, 7], [0, 0, 4, 8, 2]];
      const mask = [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]];
      const lossFn = () => causalLmLoss(m, ids, mask);
      const l0 = tf.tidy(() => lossFn().dataSync()[0]);
      expect(Math.abs(l0 - Math.log(cfg.vocabSize))).toBeLessThan(1.5); // near-uniform predictions at init
      const vars = m.trainableVariables();
      const { grads } = tf.variableGrads(lossFn, vars);
      let checked = 0;
      for (const v of vars) {
        const g = grads[v.name].dataSync();
        let k = 0;
        for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[k])) k = i; // largest entry: best FD signal
        const base = v.dataSync().slice();
        const h = 1e-2;
        const at = (delta: number) => {
          const w = base.slice();
          w[k] += delta;
          v.assign(tf.tensor(w, v.shape));
          const l = tf.tidy(() => lossFn().dataSync()[0]);
          return l;
        };
        const fd = (at(h) - at(-h)) / (2 * h);
        expect(Math.abs(g[k])).toBeGreaterThan(1e-3); // a real signal, not two zeros agreeing
        v.assign(tf.tensor(base, v.shape));
        expect(Math.abs(fd - g[k])).toBeLessThan(2e-3 + 2e-2 * Math.abs(g[k]));
        checked++;
      }
      expect(checked).toBe(vars.length);
      tf.dispose(grads);
      m.dispose();
    }
  });

  it('round-trips HF-layout weights and validates names and shapes', () => {
    const m = tinyModel(TINY_QWEN2);
    const w = m.namedWeights();
    expect(w.has('lm_head.weight')).toBe(false);
    expect(w.get('model.layers.0.self_attn.q_proj.weight')!.shape).toEqual([16, 16]);
    expect(w.get('model.layers.0.self_attn.k_proj.bias')!.shape).toEqual([4]);
    expect(m.numParameters()).toBe(countParameters(TINY_QWEN2));
    const m2 = new CausalLM(TINY_QWEN2, w);
    const w2 = m2.namedWeights();
    for (const [n, t] of w) expect(Array.from(w2.get(n)!.dataSync())).toEqual(Array.from(t.dataSync()));
    const bad = new Map(w);
    bad.delete('model.norm.weight');
    expect(() => new CausalLM(TINY_QWEN2, bad)).toThrow("weights: missing tensor 'model.norm.weight' (expected shape [16])");
    bad.set('model.norm.weight', tf.zeros([3]));
    expect(() => new CausalLM(TINY_QWEN2, bad)).toThrow("weights: 'model.norm.weight' must have shape [16], got [3]");
    tf.dispose([...w.values(), ...w2.values(), bad.get('model.norm.weight')!]);
    m.dispose();
    m2.dispose();
  });

  it('lets a wrapper replace a linear and trains only what is trainable', () => {
    const m = tinyModel(TINY_LLAMA);
    const name = 'model.layers.1.mlp.down_proj';
    const base = m.linears().get(name)!;
    const scale = tf.variable(tf.scalar(1));
    const wrapper: LinearModule = {
      name,
      inFeatures: base.inFeatures,
      outFeatures: base.outFeatures,
      forward: (x) => tf.mul(base.forward(x), scale) as tf.Tensor2D,
      trainableVariables: () => [scale],
    };
    m.setTrainable(false);
    m.setLinear(name, wrapper);
    expect(m.trainableVariables()).toEqual([scale]);
    const { grads } = tf.variableGrads(() => causalLmLoss(m, [[1, 2, 3, 4]]), m.trainableVariables());
    expect(Number.isFinite(grads[scale.name].dataSync()[0])).toBe(true);
    expect(() => m.setLinear(name, { ...wrapper, outFeatures: 3 })).toThrow(`setLinear: '${name}' must map 24 -> 16, got 24 -> 3`);
    tf.dispose(grads);
    scale.dispose();
    m.dispose();
  });

  it('shows no tensor growth over 50 AdamW train steps', async () => {
    const m = tinyModel(TINY_QWEN2);
    const opt = new AdamW({ weightDecay: 0.1 });
    const ids = [[1, 5, 9, 3, 7, 2], [3, 3, 4, 8, 2, 0]];
    const vars = m.trainableVariables();
    const losses: number[] = [];
    const g = await assertNoTensorGrowth(() => {
      const { value, grads } = tf.variableGrads(() => causalLmLoss(m, ids), vars);
      losses.push(value.dataSync()[0]);
      opt.apply(vars, vars.map((v) => grads[v.name]), 1e-2);
      tf.dispose([value, ...Object.values(grads)]);
    }, 50, 'train step');
    expect(g.growth).toBe(0);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.5);
    opt.dispose();
    m.dispose();
  });
});

describe('positions', () => {
  it('grows the RoPE tables on demand and rejects sequences past maxPositionEmbeddings', async () => {
    await initBackend({ backend: 'wasm', quiet: true });
    const cfg = { ...TINY_LLAMA, maxPositionEmbeddings: 2048 };
    const m = tinyModel(cfg);
    const long = [Array.from({ length: 1500 }, (_, i) => i % 17)];
    const logits = tf.tidy(() => m.forward({ inputIds: long }, { lastOnly: true }).shape);
    expect(logits).toEqual([1, 1, 17]);
    expect(() => m.forward({ inputIds: [new Array(2049).fill(1)] })).toThrow(
      'inputIds: a sequence needs 2049 positions, above maxPositionEmbeddings (2048)',
    );
    m.dispose();
  });
});
