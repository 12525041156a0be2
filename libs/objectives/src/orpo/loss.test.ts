// ORPO checked against hand-computed log odds (mean log-probs over padded masks) and the token-mean NLL.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../util/test-setup.ts';
import { orpoLoss, type OrpoLossInput } from './index.ts';
import { gradientCheck, logSigmoid, values } from '../util/testing.ts';

// chosen: row 0 has 2 tokens (padding holds garbage), row 1 has 3; rejected: 2 and 1 tokens.
const base = (beta = 0.1): OrpoLossInput => ({
  policyChosenLogps: tf.tensor2d([[-0.5, -1.5, 42], [-0.2, -0.4, -0.6]]),
  chosenMask: tf.tensor2d([[1, 1, 0], [1, 1, 1]]),
  policyRejectedLogps: tf.tensor2d([[-2, -1], [-3, -Infinity]]),
  rejectedMask: tf.tensor2d([[1, 1], [1, 0]]),
  beta,
});
const c = [-1.0, -0.4]; // (-0.5 - 1.5) / 2, (-0.2 - 0.4 - 0.6) / 3
const r = [-1.5, -3.0]; // (-2 - 1) / 2, -3 / 1
const logOdds = [0, 1].map((i) => c[i] - r[i] - (Math.log(1 - Math.exp(c[i])) - Math.log(1 - Math.exp(r[i]))));
const nll = (0.5 + 1.5 + 0.2 + 0.4 + 0.6) / 5; // token mean over all 5 chosen tokens = 0.64

describe('orpoLoss', () => {
  it('matches Hong et al. Eq. 6-7 computed by hand', () => {
    const beta = 0.1;
    const out = orpoLoss(base(beta));
    const ratio = logOdds.map(logSigmoid);
    expect(out.nllLoss.dataSync()[0]).toBeCloseTo(nll, 5);
    expect(out.loss.dataSync()[0]).toBeCloseTo(nll - beta * ((ratio[0] + ratio[1]) / 2), 5);
    expect(out.logOddsRatio.dataSync()[0]).toBeCloseTo((ratio[0] + ratio[1]) / 2, 5);
    expect(out.logOddsChosen.dataSync()[0]).toBeCloseTo((logOdds[0] + logOdds[1]) / 2, 5);
    expect(values(out.chosenRewards)).toEqual([expect.closeTo(-0.1, 5), expect.closeTo(-0.04, 5)]);
    expect(values(out.rejectedRewards)).toEqual([expect.closeTo(-0.15, 5), expect.closeTo(-0.3, 5)]);
    expect(out.rewardAccuracy.dataSync()[0]).toBe(1);
  });

  it('gradient w.r.t. both policy inputs matches finite differences; padding gets none', () => {
    const b = base(0.5);
    const gc = gradientCheck((x) => orpoLoss({ ...b, policyChosenLogps: x }).loss, [[-0.5, -1.5, -3], [-0.2, -0.4, -0.6]]);
    gc.analytic.forEach((g, i) => expect(g).toBeCloseTo(gc.numeric[i], 3));
    expect(gc.analytic[2]).toBe(0);
    const gr = gradientCheck((x) => orpoLoss({ ...b, policyRejectedLogps: x }).loss, [[-2, -1], [-3, -5]]);
    gr.analytic.forEach((g, i) => expect(g).toBeCloseTo(gr.numeric[i], 3));
    expect(gr.analytic[3]).toBe(0);
  });

  it('stays finite when a completion has probability 1', () => {
    const out = orpoLoss({ ...base(), policyChosenLogps: tf.zeros([2, 3]) });
    expect(Number.isFinite(out.loss.dataSync()[0])).toBe(true);
  });

  it('rejects bad input naming the field', () => {
    expect(() => orpoLoss(base(0))).toThrow('beta: must be > 0, got 0');
    expect(() => orpoLoss({ ...base(), rejectedMask: tf.ones([2, 3]) })).toThrow('rejectedMask: must have the shape of policyRejectedLogps [2, 2], got [2, 3]');
  });

  it('leaks no tensors', () => {
    const b = base();
    const before = tf.memory().numTensors;
    tf.dispose(Object.values(orpoLoss(b)));
    tf.tidy(() => {
      tf.grad((x: tf.Tensor) => orpoLoss({ ...b, policyChosenLogps: x }).loss)(b.policyChosenLogps);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
