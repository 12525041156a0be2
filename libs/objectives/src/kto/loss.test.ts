// KTO checked by hand: summed log-ratios over padded masks, the clamped detached KL estimate from
// mismatched pairs, per-label weights and the plain mean of the weighted losses.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../util/test-setup.ts';
import { ktoLoss, type KtoLossInput } from './index.ts';
import { gradientCheck, sigmoid, values } from '../util/testing.ts';

// Three examples: desirable, undesirable, desirable. Sums over the mask:
// policy: -3.0, -2.0, -1.0 ; reference (given summed): -3.5, -1.0, -1.2 -> log-ratios r = 0.5, -1.0, 0.2
const base = (o: Partial<KtoLossInput> = {}): KtoLossInput => ({
  labels: [true, false, true],
  policyLogps: tf.tensor2d([[-1, -2, 5], [-0.5, -0.5, -1], [-1, -Infinity, 0]]),
  mask: tf.tensor2d([[1, 1, 0], [1, 1, 1], [1, 0, 0]]),
  refLogps: tf.tensor1d([-3.5, -1.0, -1.2]),
  // mismatched pairs: sums -2.0 and -1.0 vs reference -2.5 and -0.9 -> log-ratios 0.5 and -0.1 -> z0 = 0.2
  klPolicyLogps: tf.tensor2d([[-1, -1], [-1, 3]]),
  klRefLogps: tf.tensor2d([[-1.5, -1], [-0.9, 0]]),
  klMask: tf.tensor2d([[1, 1], [1, 0]]),
  beta: 0.5,
  ...o,
});
const r = [0.5, -1.0, 0.2];

describe('ktoLoss', () => {
  it('matches Ethayarajh et al. Eq. 8 by hand, with weights', () => {
    const wD = 1.0;
    const wU = 1.5;
    const out = ktoLoss(base({ desirableWeight: wD, undesirableWeight: wU }));
    const z0 = 0.2;
    const losses = [wD * (1 - sigmoid(0.5 * (r[0] - z0))), wU * (1 - sigmoid(0.5 * (z0 - r[1]))), wD * (1 - sigmoid(0.5 * (r[2] - z0)))];
    expect(out.kl.dataSync()[0]).toBeCloseTo(z0, 5);
    expect(out.loss.dataSync()[0]).toBeCloseTo((losses[0] + losses[1] + losses[2]) / 3, 5);
    expect(values(out.chosenRewards)).toEqual([expect.closeTo(0.25, 5), expect.closeTo(0.1, 5)]);
    expect(values(out.rejectedRewards)).toEqual([expect.closeTo(-0.5, 5)]);
    expect(values(out.chosenLogps)).toEqual([expect.closeTo(-3, 5), expect.closeTo(-1, 5)]);
  });

  it('clamps a negative KL estimate at 0', () => {
    const out = ktoLoss(base({ klRefLogps: tf.tensor1d([0, 0]) })); // log-ratios -2.0, -1.0 -> mean -1.5 -> 0
    expect(out.kl.dataSync()[0]).toBe(0);
    const losses = [1 - sigmoid(0.5 * r[0]), 1 - sigmoid(0.5 * -r[1]), 1 - sigmoid(0.5 * r[2])];
    expect(out.loss.dataSync()[0]).toBeCloseTo((losses[0] + losses[1] + losses[2]) / 3, 5);
  });

  it('a batch of one kind gives an empty reward vector for the other', () => {
    const out = ktoLoss(base({ labels: [true, true, true] }));
    expect(out.rejectedRewards.shape).toEqual([0]);
    expect(out.chosenRewards.shape).toEqual([3]);
  });

  it('gradient flows to the policy log-probs only (KL inputs and reference get zero)', () => {
    const b = base();
    const g = gradientCheck((x) => ktoLoss({ ...b, policyLogps: x }).loss, [[-1, -2, 5], [-0.5, -0.5, -1], [-1, -3, 0]]);
    g.analytic.forEach((v, i) => expect(v).toBeCloseTo(g.numeric[i], 3));
    expect(g.analytic[2]).toBe(0);
    const grads = tf.grads((kp: tf.Tensor, kr: tf.Tensor, ref: tf.Tensor) =>
      ktoLoss({ ...b, klPolicyLogps: kp, klRefLogps: kr, refLogps: ref }).loss,
    )([b.klPolicyLogps, b.klRefLogps, b.refLogps]);
    for (const gr of grads) expect(values(gr).every((v) => v === 0)).toBe(true);
  });

  it('rejects bad input naming the field', () => {
    expect(() => ktoLoss(base({ labels: [true, false] }))).toThrow('labels: must have one entry per example (3), got 2');
    expect(() => ktoLoss(base({ labels: [1, 0, 1] as unknown as boolean[] }))).toThrow('labels: must be a boolean[]');
    expect(() => ktoLoss(base({ beta: 0 }))).toThrow('beta: must be > 0, got 0');
    expect(() => ktoLoss(base({ undesirableWeight: 0 }))).toThrow('undesirableWeight: must be > 0, got 0');
    expect(() => ktoLoss(base({ klMask: tf.ones([2, 3]) }))).toThrow('klMask: must have the shape of klPolicyLogps [2, 2], got [2, 3]');
    expect(() => ktoLoss(base({ refLogps: tf.tensor1d([1, 2]) }))).toThrow('refLogps: dimension 0 must be 3');
  });

  it('leaks no tensors', () => {
    const b = base();
    const before = tf.memory().numTensors;
    tf.dispose(Object.values(ktoLoss(b)));
    expect(tf.memory().numTensors).toBe(before);
  });
});
