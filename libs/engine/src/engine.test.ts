// Tests of the engine pieces: backend choice, seeded RNG, AdamW against a hand-computed step, schedule, clipping.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { backendFromEnv, describeBackends, initBackend } from './backend.ts';
import { createRng } from './rng.ts';
import { AdamW } from './adamw.ts';
import { cosineWithWarmup } from './schedule.ts';
import { clipByGlobalNorm } from './clip.ts';
import { assertNoTensorGrowth } from './memory.ts';

describe('backend', () => {
  it('parses TUNELOOP_BACKEND and rejects unknown names', () => {
    expect(backendFromEnv({ TUNELOOP_BACKEND: 'cpu' })).toBe('cpu');
    expect(backendFromEnv({})).toBeUndefined();
    expect(() => backendFromEnv({ TUNELOOP_BACKEND: 'gpu' })).toThrow(
      "TUNELOOP_BACKEND: must be one of tensorflow, wasm, cpu, got 'gpu'",
    );
  });
  it('prefers wasm when no native binding is installed, and switches on request', async () => {
    const d = await describeBackends();
    expect(d.available).toContain('wasm');
    expect(d.available).toContain('cpu');
    if (!process.env.TUNELOOP_BACKEND) expect(d.selected).toBe(d.available[0]);
    for (const name of ['wasm', 'cpu'] as const) {
      const info = await initBackend({ backend: name, quiet: true });
      expect(info.name).toBe(name);
      expect(tf.getBackend()).toBe(name);
      expect(tf.sum(tf.tensor([1, 2, 3])).dataSync()[0]).toBe(6);
    }
    await expect(initBackend({ backend: 'tensorflow', quiet: true })).rejects.toThrow(/tfjs-node/);
  });
});

describe('rng', () => {
  it('is reproducible per seed and differs across seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xa = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xa);
    expect(() => createRng(1.5)).toThrow('seed: must be an integer, got 1.5');
  });
  it('draws uniform and normal values with the right moments', () => {
    const r = createRng(7);
    const n = 20000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.03);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.05);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 8000; i++) counts[r.int(4)]++;
    for (const k of counts) expect(Math.abs(k - 2000)).toBeLessThan(200);
  });
});

describe('optimizer pieces', () => {
  it('AdamW matches a hand-computed step with decoupled decay', async () => {
    await initBackend({ backend: 'cpu', quiet: true });
    const w = tf.variable(tf.tensor2d([[1, -2]]));
    const opt = new AdamW({ beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
    const g = tf.tensor2d([[0.5, -1]]);
    opt.apply([w], [g], 0.01);
    // step 1: m_hat = g, v_hat = g^2 -> update = sign(g); w = w (1 - lr wd) - lr sign(g)
    const got = w.dataSync();
    expect(got[0]).toBeCloseTo(1 * (1 - 0.001) - 0.01, 6);
    expect(got[1]).toBeCloseTo(-2 * (1 - 0.001) + 0.01, 6);
    opt.apply([w], [g], 0.01);
    const m = 0.9 * 0.05 + 0.05; // m after step 2 for g0 = 0.5 (both steps)
    const v = 0.999 * 0.00025 + 0.00025;
    const upd = m / (1 - 0.81) / (Math.sqrt(v / (1 - 0.998001)) + 1e-8);
    expect(w.dataSync()[0]).toBeCloseTo(got[0] * (1 - 0.001) - 0.01 * upd, 6);
    await assertNoTensorGrowth(() => opt.apply([w], [g], 0.01), 5, 'adamw');
    expect(() => opt.apply([w], [], 0.1)).toThrow('grads: expected 1 gradients, got 0');
    opt.dispose();
    w.dispose();
    g.dispose();
  });
  it('warmup + cosine schedule hits its landmarks', () => {
    const cfg = { peakLr: 1, warmupSteps: 10, totalSteps: 110, minLr: 0.1 };
    expect(cosineWithWarmup(cfg, 0)).toBeCloseTo(0.1);
    expect(cosineWithWarmup(cfg, 9)).toBeCloseTo(1);
    expect(cosineWithWarmup(cfg, 10)).toBeCloseTo(1);
    expect(cosineWithWarmup(cfg, 60)).toBeCloseTo(0.55);
    expect(cosineWithWarmup(cfg, 110)).toBeCloseTo(0.1);
    expect(() => cosineWithWarmup({ ...cfg, totalSteps: 0 }, 1)).toThrow('totalSteps: must be an integer >= 1, got 0');
  });
  it('clips by global norm', () => {
    const grads = { a: tf.tensor([3, 0]), b: tf.tensor([0, 4]) };
    const out = clipByGlobalNorm(grads, 1);
    expect(out.norm).toBeCloseTo(5);
    expect(Array.from(out.grads.a.dataSync())[0]).toBeCloseTo(0.6, 5);
    expect(Array.from(out.grads.b.dataSync())[1]).toBeCloseTo(0.8, 5);
    const same = clipByGlobalNorm(grads, 10);
    expect(Array.from(same.grads.b.dataSync())).toEqual([0, 4]);
    tf.dispose([grads.a, grads.b, out.grads.a, out.grads.b, same.grads.a, same.grads.b]);
  });
});
