// GRPO loss by hand: each aggregation, clipping on both sides with epsilon low/high, k3 KL with beta,
// gradients vs finite differences and no gradient through clipped tokens.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../util/test-setup.ts';
import { grpoLoss, maskTruncatedCompletions, type GrpoLossInput, type GrpoLossType } from './index.ts';
import { gradientCheck, values } from '../util/testing.ts';

// Ratio 1 everywhere (old = current): per-token loss = -A. Row 0: 3 tokens, A = 1; row 1: 1 token, A = -0.5.
const onPolicy = (lossType: GrpoLossType, o: Partial<GrpoLossInput> = {}): GrpoLossInput => ({
  advantages: tf.tensor1d([1, -0.5]),
  logps: tf.tensor2d([[-1, -2, -0.5], [-0.3, -9, -9]]),
  mask: tf.tensor2d([[1, 1, 1], [1, 0, 0]]),
  lossType,
  ...o,
});

describe('grpoLoss aggregation', () => {
  it("'grpo': mean over sequences of token means", () => {
    expect(grpoLoss(onPolicy('grpo')).loss.dataSync()[0]).toBeCloseTo((-3 / 3 + 0.5 / 1) / 2, 6); // -0.25
  });
  it("'bnpo': token mean over the batch", () => {
    expect(grpoLoss(onPolicy('bnpo')).loss.dataSync()[0]).toBeCloseTo((-3 + 0.5) / 4, 6); // -0.625
  });
  it("'dr_grpo': sum / (B * maxCompletionLength)", () => {
    expect(grpoLoss(onPolicy('dr_grpo', { maxCompletionLength: 4 })).loss.dataSync()[0]).toBeCloseTo(-2.5 / (2 * 4), 6);
    expect(grpoLoss(onPolicy('dr_grpo')).loss.dataSync()[0]).toBeCloseTo(-2.5 / (2 * 3), 6); // default T
  });
  it("'dapo': sum / tokens in the generation batch", () => {
    expect(grpoLoss(onPolicy('dapo')).loss.dataSync()[0]).toBeCloseTo(-2.5 / 4, 6);
    expect(grpoLoss(onPolicy('dapo', { numItemsInBatch: 10 })).loss.dataSync()[0]).toBeCloseTo(-2.5 / 10, 6);
  });
});

describe('maskTruncatedCompletions', () => {
  it('zeroes the rows of truncated completions, so they leave the loss', () => {
    const mask = maskTruncatedCompletions(tf.tensor2d([[1, 1, 1], [1, 0, 0]]), [true, false]);
    expect(values(mask)).toEqual([0, 0, 0, 1, 0, 0]);
    // bnpo over the remaining single token of row 1 (A = -0.5): 0.5
    expect(grpoLoss(onPolicy('bnpo', { mask })).loss.dataSync()[0]).toBeCloseTo(0.5, 6);
    expect(() => maskTruncatedCompletions(tf.ones([2, 3]), [true])).toThrow('truncated: must be a boolean[] with one entry per completion (2)');
  });
});

describe('grpoLoss clipping and KL', () => {
  // One row, 4 tokens; old log-probs chosen so that rho = 1.5, 0.5, 1.1, 0.9.
  const rho = [1.5, 0.5, 1.1, 0.9];
  const logps = [-1, -1.2, -0.7, -2];
  const old = logps.map((l, i) => l - Math.log(rho[i]));
  const make = (A: number, o: Partial<GrpoLossInput> = {}): GrpoLossInput => ({
    advantages: tf.tensor1d([A]),
    logps: tf.tensor2d([logps]),
    oldLogps: tf.tensor2d([old]),
    mask: tf.ones([1, 4]),
    epsilonLow: 0.2,
    epsilonHigh: 0.28,
    lossType: 'bnpo',
    ...o,
  });

  it('A > 0: ratio above 1 + epsHigh is clipped, ratio below 1 - epsLow is not', () => {
    const out = grpoLoss(make(2));
    // -min(rho A, clip(rho) A): 1.5 -> clip 1.28; 0.5 -> min(1.0, 1.6) = 1.0; 1.1 and 0.9 unclipped.
    const expected = -(1.28 * 2 + 0.5 * 2 + 1.1 * 2 + 0.9 * 2) / 4;
    expect(out.loss.dataSync()[0]).toBeCloseTo(expected, 5);
    expect(out.highClipRatio.dataSync()[0]).toBeCloseTo(0.25, 6);
    expect(out.lowClipRatio.dataSync()[0]).toBe(0);
    expect(out.clipRatio.dataSync()[0]).toBeCloseTo(0.25, 6);
    const g = values(tf.grad((x: tf.Tensor) => grpoLoss({ ...make(2), logps: x }).loss)(tf.tensor2d([logps])));
    expect(g[0]).toBe(0); // clipped: no gradient
    expect(g[1]).toBeCloseTo(-(0.5 * 2) / 4, 5); // d/dlogp of -rho A / 4 = -rho A / 4
  });

  it('A < 0: ratio below 1 - epsLow is clipped, ratio above 1 + epsHigh is not', () => {
    const out = grpoLoss(make(-1));
    // -min(-rho, -clip(rho)) = max(rho, clip(rho)): 1.5 -> 1.5; 0.5 -> 0.8; 1.1; 0.9
    expect(out.loss.dataSync()[0]).toBeCloseTo((1.5 + 0.8 + 1.1 + 0.9) / 4, 5);
    expect(out.lowClipRatio.dataSync()[0]).toBeCloseTo(0.25, 6);
    expect(out.highClipRatio.dataSync()[0]).toBe(0);
    const g = values(tf.grad((x: tf.Tensor) => grpoLoss({ ...make(-1), logps: x }).loss)(tf.tensor2d([logps])));
    expect(g[1]).toBe(0);
    expect(g[0]).toBeCloseTo(1.5 / 4, 5);
  });

  it('k3 KL: exp(ref - logp) - (ref - logp) - 1, added with beta; reported as a token mean', () => {
    const ref = [-1.5, -1.0, -0.7, -1.0];
    const k3 = ref.map((r, i) => Math.exp(r - logps[i]) - (r - logps[i]) - 1);
    const withKl = grpoLoss(make(2, { refLogps: tf.tensor2d([ref]), beta: 0.04 }));
    const plain = grpoLoss(make(2));
    const meanK3 = k3.reduce((a, b) => a + b, 0) / 4;
    expect(withKl.kl.dataSync()[0]).toBeCloseTo(meanK3, 5);
    expect(withKl.loss.dataSync()[0]).toBeCloseTo(plain.loss.dataSync()[0] + 0.04 * meanK3, 5);
    expect(k3[2]).toBe(0);
    // beta = 0 (the default): KL reported but not in the loss
    const noBeta = grpoLoss(make(2, { refLogps: tf.tensor2d([ref]) }));
    expect(noBeta.loss.dataSync()[0]).toBeCloseTo(plain.loss.dataSync()[0], 6);
    expect(noBeta.kl.dataSync()[0]).toBeCloseTo(meanK3, 5);
  });

  it.each(['grpo', 'bnpo', 'dr_grpo', 'dapo'] as const)('%s: gradient matches finite differences; old and ref get none', (lossType) => {
    const b = make(0.7, { lossType, refLogps: tf.tensor2d([[-1.5, -1.0, -0.7, -1.0]]), beta: 0.1 });
    const gc = gradientCheck((x) => grpoLoss({ ...b, logps: x }).loss, [logps], 1e-3);
    gc.analytic.forEach((v, i) => expect(v).toBeCloseTo(gc.numeric[i], 3));
    const [gOld, gRef] = tf.grads((o: tf.Tensor, r: tf.Tensor) => grpoLoss({ ...b, oldLogps: o, refLogps: r }).loss)([b.oldLogps!, b.refLogps!]);
    expect(values(gOld).every((v) => v === 0)).toBe(true);
    expect(values(gRef).every((v) => v === 0)).toBe(true);
  });

  it('rejects bad input naming the field', () => {
    expect(() => grpoLoss(make(1, { lossType: 'ppo' as GrpoLossType }))).toThrow("lossType: must be one of 'grpo', 'bnpo', 'dr_grpo', 'dapo', got 'ppo'");
    expect(() => grpoLoss(make(1, { beta: 0.1 }))).toThrow('refLogps: is required when beta > 0');
    expect(() => grpoLoss(make(1, { beta: -1 }))).toThrow('beta: must be >= 0, got -1');
    expect(() => grpoLoss(make(1, { epsilonLow: 1 }))).toThrow('epsilonLow: must be in [0, 1), got 1');
    expect(() => grpoLoss(make(1, { advantages: tf.tensor1d([1, 2]) }))).toThrow('advantages: dimension 0 must be 1');
    expect(() => grpoLoss(make(1, { oldLogps: tf.zeros([1, 3]) }))).toThrow('oldLogps: must have the shape of logps [1, 4], got [1, 3]');
    expect(() => grpoLoss(make(1, { lossType: 'dr_grpo', maxCompletionLength: 0 }))).toThrow('maxCompletionLength: must be an integer >= 1, got 0');
  });

  it('leaks no tensors', () => {
    const b = make(1, { refLogps: tf.tensor2d([[-1.5, -1.0, -0.7, -1.0]]), beta: 0.1 });
    const before = tf.memory().numTensors;
    tf.dispose(Object.values(grpoLoss(b)));
    tf.tidy(() => {
      tf.grad((x: tf.Tensor) => grpoLoss({ ...b, logps: x }).loss)(b.logps);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
