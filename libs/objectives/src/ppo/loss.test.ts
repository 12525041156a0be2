// PPO losses by hand: policy clipping on both sides, value clipping, gradients; per-token rewards
// (k1 / k3 KL + score on the last token); the adaptive KL controller.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../util/test-setup.ts';
import { AdaptiveKlController, FixedKlController, ppoLoss, ppoRewards, type PpoLossInput } from './index.ts';
import { gradientCheck, values } from '../util/testing.ts';

// One row of 4 tokens (last one padding). rho = 1.5 (A = +1), 0.5 (A = -1), 1.0 (A = 2).
const rho = [1.5, 0.5, 1.0, 1.0];
const logps = [-1, -2, -0.5, -3];
const oldLogps = logps.map((l, i) => l - Math.log(rho[i]));
const base = (o: Partial<PpoLossInput> = {}): PpoLossInput => ({
  logps: tf.tensor2d([logps]),
  oldLogps: tf.tensor2d([oldLogps]),
  advantages: tf.tensor2d([[1, -1, 2, 5]]),
  values: tf.tensor2d([[1.0, 0.0, 0.5, 7]]),
  oldValues: tf.tensor2d([[0.5, 0.5, 0.5, 0]]),
  returns: tf.tensor2d([[2.0, 1.0, 0.5, 0]]),
  mask: tf.tensor2d([[1, 1, 1, 0]]),
  clipRange: 0.2,
  clipRangeValue: 0.2,
  vfCoef: 0.1,
  ...o,
});

describe('ppoLoss', () => {
  it('clips the ratio above 1 + eps for A > 0 and below 1 - eps for A < 0; clips the value', () => {
    const out = ppoLoss(base());
    // pg per token: max(-A rho, -A clip(rho)): max(-1.5, -1.2) = -1.2; max(0.5, 0.8) = 0.8; -2.
    const pg = (-1.2 + 0.8 - 2) / 3;
    // vf per token: V clipped to oldV +- 0.2: 0.7, 0.3, 0.5; max((V-R)^2, (Vc-R)^2) = 1.69, 1, 0.
    const vf = 0.5 * (1.69 + 1 + 0) / 3;
    expect(out.pgLoss.dataSync()[0]).toBeCloseTo(pg, 5);
    expect(out.vfLoss.dataSync()[0]).toBeCloseTo(vf, 5);
    expect(out.loss.dataSync()[0]).toBeCloseTo(pg + 0.1 * vf, 5);
    expect(out.pgClipfrac.dataSync()[0]).toBeCloseTo(2 / 3, 6);
    expect(out.vfClipfrac.dataSync()[0]).toBeCloseTo(1 / 3, 6);
    const lr = rho.slice(0, 3).map(Math.log);
    expect(out.approxKl.dataSync()[0]).toBeCloseTo((0.5 * (lr[0] ** 2 + lr[1] ** 2 + lr[2] ** 2)) / 3, 5);
  });

  it('clipped tokens get no gradient; the rest match finite differences', () => {
    const b = base();
    const g = gradientCheck((x) => ppoLoss({ ...b, logps: x }).loss, [logps], 1e-3);
    expect(Math.abs(g.analytic[0])).toBe(0);
    expect(Math.abs(g.analytic[1])).toBe(0);
    expect(g.analytic[2]).toBeCloseTo(-2 / 3, 5);
    expect(Math.abs(g.analytic[3])).toBe(0);
    g.analytic.forEach((v, i) => expect(v).toBeCloseTo(g.numeric[i], 3));
    const gv = gradientCheck((x) => ppoLoss({ ...b, values: x }).loss, [[1.0, 0.0, 0.4, 7]], 1e-3);
    gv.analytic.forEach((v, i) => expect(v).toBeCloseTo(gv.numeric[i], 3));
    expect(Math.abs(gv.analytic[0])).toBe(0); // clipped value term binds
    const grads = tf.grads((o: tf.Tensor, a: tf.Tensor, r: tf.Tensor, ov: tf.Tensor) =>
      ppoLoss({ ...b, oldLogps: o, advantages: a, returns: r, oldValues: ov }).loss,
    )([b.oldLogps, b.advantages, b.returns, b.oldValues]);
    for (const gr of grads) expect(values(gr).every((v) => v === 0)).toBe(true);
  });

  it('rejects bad input naming the field', () => {
    expect(() => ppoLoss(base({ clipRange: 1 }))).toThrow('clipRange: must be in [0, 1), got 1');
    expect(() => ppoLoss(base({ vfCoef: -0.1 }))).toThrow('vfCoef: must be >= 0, got -0.1');
    expect(() => ppoLoss(base({ returns: tf.zeros([1, 3]) }))).toThrow('returns: must have the shape of logps [1, 4], got [1, 3]');
  });

  it('leaks no tensors', () => {
    const b = base();
    const before = tf.memory().numTensors;
    tf.dispose(Object.values(ppoLoss(b)));
    tf.tidy(() => {
      tf.grad((x: tf.Tensor) => ppoLoss({ ...b, logps: x }).loss)(b.logps);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('ppoRewards', () => {
  const input = {
    scores: tf.tensor1d([2.0, -1.0]),
    logps: tf.tensor2d([[-1, -2, -1], [-0.5, -0.5, 0]]),
    refLogps: tf.tensor2d([[-1.5, -1.5, -1], [-0.4, -0.7, 0]]),
    mask: tf.tensor2d([[1, 1, 1], [1, 1, 0]]),
    klCoef: 0.05,
  };
  it('k1: -klCoef (logp - ref) per token, plus the score on the last completion token', () => {
    const out = ppoRewards(input);
    expect(values(out.kl)).toEqual([0.5, -0.5, 0, -0.1, 0.2, 0].map((x) => expect.closeTo(x, 5)));
    expect(values(out.rewards)).toEqual([-0.025, 0.025, 2.0, 0.005, -0.01 - 1.0, 0].map((x) => expect.closeTo(x, 5)));
  });
  it('k3: exp(ref - logp) - (ref - logp) - 1', () => {
    const out = ppoRewards({ ...input, klEstimator: 'k3' });
    const k3 = (d: number) => Math.exp(d) - d - 1;
    expect(values(out.kl)).toEqual([k3(-0.5), k3(0.5), 0, k3(0.1), k3(-0.2), 0].map((x) => expect.closeTo(x, 5)));
  });
  it('rejects a row without completion tokens', () => {
    expect(() => ppoRewards({ ...input, mask: tf.tensor2d([[1, 1, 1], [0, 0, 0]]) })).toThrow('mask: row 1 has no completion token');
  });
});

describe('KL controllers', () => {
  it('adaptive: coef *= 1 + clip(KL/target - 1, +-0.2) * nSteps / horizon', () => {
    const c = new AdaptiveKlController({ initKlCoef: 0.2, target: 6, horizon: 10000 });
    c.update(9, 256); // error clipped to +0.2
    expect(c.value).toBeCloseTo(0.2 * (1 + (0.2 * 256) / 10000), 12);
    c.update(5.4, 100); // error -0.1
    expect(c.value).toBeCloseTo(0.2 * (1 + (0.2 * 256) / 10000) * (1 - (0.1 * 100) / 10000), 12);
    expect(() => new AdaptiveKlController({ initKlCoef: 0.2, target: 0, horizon: 1 })).toThrow('target: must be > 0, got 0');
  });
  it('fixed: never changes', () => {
    const c = new FixedKlController(0.05);
    c.update();
    expect(c.value).toBe(0.05);
  });
});
