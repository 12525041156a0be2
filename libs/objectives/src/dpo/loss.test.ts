// DPO family checked against hand-computed values (sums over masks with padding, label smoothing,
// IPO length normalisation, hinge, robust), gradient flow and tensor hygiene.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../util/test-setup.ts';
import { dpoLoss, type DpoLossInput, type DpoLossType } from './index.ts';
import { gradientCheck, logSigmoid, values } from '../util/testing.ts';

// Two pairs. Chosen completions: lengths 3 and 2 (row 1 padded, padding holds -Infinity garbage).
// Rejected completions: lengths 2 and 3.
const piW = [[-1, -2, -0.5], [-0.2, -0.3, -Infinity]];
const mW = [[1, 1, 1], [1, 1, 0]];
const piL = [[-2, -2, 99], [-1, -0.5, -0.5]];
const mL = [[1, 1, 0], [1, 1, 1]];
const refW = [[-1.5, -2, -1], [-0.4, -0.4, 0]];
const refL = [[-1.5, -1.5, 0], [-0.8, -0.5, -0.6]];
// Summed by hand over the masks:
// pair 0: piW=-3.5 refW=-4.5 -> ratioW=1.0 ; piL=-4.0 refL=-3.0 -> ratioL=-1.0
// pair 1: piW=-0.5 refW=-0.8 -> ratioW=0.3 ; piL=-2.0 refL=-1.9 -> ratioL=-0.1
const ratioW = [1.0, 0.3];
const ratioL = [-1.0, -0.1];
const lenW = [3, 2];
const lenL = [2, 3];

function input(lossType: DpoLossType, beta: number, labelSmoothing?: number): DpoLossInput {
  return {
    policyChosenLogps: tf.tensor2d(piW),
    policyRejectedLogps: tf.tensor2d(piL),
    refChosenLogps: tf.tensor2d(refW),
    refRejectedLogps: tf.tensor2d(refL),
    chosenMask: tf.tensor2d(mW),
    rejectedMask: tf.tensor2d(mL),
    beta,
    lossType,
    labelSmoothing,
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('dpoLoss', () => {
  it('sigmoid: -log sigma(beta * h), rewards and accuracy by hand', () => {
    const beta = 0.5;
    const out = dpoLoss(input('sigmoid', beta));
    const h = [ratioW[0] - ratioL[0], ratioW[1] - ratioL[1]]; // [2.0, 0.4]
    expect(out.loss.dataSync()[0]).toBeCloseTo(mean(h.map((x) => -logSigmoid(beta * x))), 5);
    expect(values(out.chosenRewards)).toEqual([expect.closeTo(0.5, 5), expect.closeTo(0.15, 5)]);
    expect(values(out.rejectedRewards)).toEqual([expect.closeTo(-0.5, 5), expect.closeTo(-0.05, 5)]);
    expect(values(out.rewardMargins)).toEqual([expect.closeTo(1.0, 5), expect.closeTo(0.2, 5)]);
    expect(out.rewardAccuracy.dataSync()[0]).toBe(1);
    expect(values(out.chosenLogps)).toEqual([expect.closeTo(-3.5, 5), expect.closeTo(-0.5, 5)]);
  });

  it('sigmoid with label smoothing (cDPO)', () => {
    const beta = 0.5;
    const ls = 0.1;
    const out = dpoLoss(input('sigmoid', beta, ls));
    const h = [2.0, 0.4];
    const expected = mean(h.map((x) => -(1 - ls) * logSigmoid(beta * x) - ls * logSigmoid(-beta * x)));
    expect(out.loss.dataSync()[0]).toBeCloseTo(expected, 5);
  });

  it('robust (rDPO): ((1-e)(-log sig(bh)) - e(-log sig(-bh))) / (1 - 2e)', () => {
    const beta = 0.5;
    const ls = 0.2;
    const out = dpoLoss(input('robust', beta, ls));
    const h = [2.0, 0.4];
    const expected = mean(h.map((x) => ((1 - ls) * -logSigmoid(beta * x) + ls * logSigmoid(-beta * x)) / (1 - 2 * ls)));
    expect(out.loss.dataSync()[0]).toBeCloseTo(expected, 5);
  });

  it('hinge: relu(1 - beta * h)', () => {
    const beta = 0.5;
    const out = dpoLoss(input('hinge', beta));
    // pair 0: 1 - 0.5*2.0 = 0 -> 0 ; pair 1: 1 - 0.5*0.4 = 0.8
    expect(out.loss.dataSync()[0]).toBeCloseTo((0 + 0.8) / 2, 5);
  });

  it('ipo: length-normalised log-ratios in the loss, unnormalised rewards', () => {
    const beta = 0.5;
    const out = dpoLoss(input('ipo', beta));
    const h = [0, 1].map((i) => ratioW[i] / lenW[i] - ratioL[i] / lenL[i]); // [1/3 + 1/2, 0.15 + 0.1/3]
    const expected = mean(h.map((x) => (x - 1 / (2 * beta)) ** 2));
    expect(out.loss.dataSync()[0]).toBeCloseTo(expected, 5);
    // rewards are NOT length-normalised
    expect(values(out.chosenRewards)).toEqual([expect.closeTo(0.5, 5), expect.closeTo(0.15, 5)]);
  });

  it('accepts reference log-probs already summed per sequence [B]', () => {
    const a = dpoLoss(input('ipo', 0.3));
    const b = dpoLoss({ ...input('ipo', 0.3), refChosenLogps: tf.tensor1d([-4.5, -0.8]), refRejectedLogps: tf.tensor1d([-3.0, -1.9]) });
    expect(b.loss.dataSync()[0]).toBeCloseTo(a.loss.dataSync()[0], 5);
  });

  it('accuracy counts strict chosen > rejected only', () => {
    const same = tf.tensor2d([[-1], [-1]]);
    const out = dpoLoss({
      policyChosenLogps: tf.tensor2d([[-1], [-0.5]]),
      policyRejectedLogps: same,
      refChosenLogps: same,
      refRejectedLogps: same,
      chosenMask: tf.ones([2, 1]),
      rejectedMask: tf.ones([2, 1]),
      beta: 0.1,
      lossType: 'sigmoid',
    });
    expect(out.rewardAccuracy.dataSync()[0]).toBe(0.5);
  });

  it.each(['sigmoid', 'hinge', 'ipo', 'robust'] as const)('%s: gradient reaches the policy log-probs only and matches finite differences', (lossType) => {
    const beta = 0.3; // keeps every pair off the hinge's kink
    const ls = lossType === 'robust' || lossType === 'sigmoid' ? 0.1 : undefined;
    const base = input(lossType, beta, ls);
    const f = (x: tf.Tensor) => dpoLoss({ ...base, policyChosenLogps: x }).loss;
    // Finite values in the padding so the perturbation is well defined; the mask must zero it anyway.
    const { analytic, numeric } = gradientCheck(f, [[-1, -2, -0.5], [-0.2, -0.3, -7]]);
    for (let i = 0; i < analytic.length; i++) expect(analytic[i]).toBeCloseTo(numeric[i], 3);
    expect(analytic[5]).toBe(0); // padded position
    expect(Math.abs(analytic[0])).toBeGreaterThan(1e-3);
    const [gRefW, gRefL] = tf.grads((rw: tf.Tensor, rl: tf.Tensor) =>
      dpoLoss({ ...base, refChosenLogps: rw, refRejectedLogps: rl }).loss,
    )([tf.tensor2d(refW), tf.tensor2d(refL)]);
    expect(values(gRefW).every((g) => g === 0)).toBe(true);
    expect(values(gRefL).every((g) => g === 0)).toBe(true);
  });

  it('rejects bad input naming the field', () => {
    expect(() => dpoLoss(input('sigmoid', 0))).toThrow('beta: must be > 0, got 0');
    expect(() => dpoLoss(input('sigmoid', -1))).toThrow('beta: must be > 0, got -1');
    expect(() => dpoLoss(input('xyz' as DpoLossType, 0.1))).toThrow("lossType: must be one of 'sigmoid', 'hinge', 'ipo', 'robust', got 'xyz'");
    expect(() => dpoLoss(input('sigmoid', 0.1, 0.5))).toThrow('labelSmoothing: must be in [0, 0.5), got 0.5');
    expect(() => dpoLoss(input('ipo', 0.1, 0.1))).toThrow('labelSmoothing: is only defined');
    expect(() => dpoLoss({ ...input('sigmoid', 0.1), chosenMask: tf.ones([2, 2]) })).toThrow('chosenMask: must have the shape of policyChosenLogps [2, 3], got [2, 2]');
    expect(() => dpoLoss({ ...input('sigmoid', 0.1), policyRejectedLogps: tf.zeros([3, 3]), rejectedMask: tf.ones([3, 3]) })).toThrow('policyRejectedLogps: dimension 0 must be 2');
    expect(() => dpoLoss({ ...input('sigmoid', 0.1), refChosenLogps: tf.zeros([2, 4]) })).toThrow('refChosenLogps: must have the shape of policyChosenLogps');
  });

  it('leaks no tensors', () => {
    const inp = input('robust', 0.2, 0.1);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const out = dpoLoss(inp);
      tf.dispose(Object.values(out));
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.tidy(() => {
      tf.grad((x: tf.Tensor) => dpoLoss({ ...inp, policyChosenLogps: x }).loss)(inp.policyChosenLogps);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
