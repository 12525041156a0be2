// SimPO checked by hand: length-normalised log-probs, absolute gamma margin, label smoothing, CPO NLL term.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../util/test-setup.ts';
import { simpoLoss, type SimpoLossInput } from './index.ts';
import { gradientCheck, logSigmoid, values } from '../util/testing.ts';

const base = (o: Partial<SimpoLossInput> = {}): SimpoLossInput => ({
  policyChosenLogps: tf.tensor2d([[-0.5, -1.5, -Infinity], [-0.2, -0.4, -0.6]]),
  chosenMask: tf.tensor2d([[1, 1, 0], [1, 1, 1]]),
  policyRejectedLogps: tf.tensor2d([[-2, -1], [-3, 7]]),
  rejectedMask: tf.tensor2d([[1, 1], [1, 0]]),
  beta: 2,
  gamma: 0.5,
  ...o,
});
const c = [-1.0, -0.4];
const r = [-1.5, -3.0];
const z = [0, 1].map((i) => 2 * (c[i] - r[i]) - 0.5); // [0.5, 4.7]

describe('simpoLoss', () => {
  it('-log sigmoid(beta (c - r) - gamma) with gamma the absolute margin', () => {
    const out = simpoLoss(base());
    expect(out.loss.dataSync()[0]).toBeCloseTo(-(logSigmoid(z[0]) + logSigmoid(z[1])) / 2, 5);
    expect(values(out.chosenRewards)).toEqual([expect.closeTo(-2, 5), expect.closeTo(-0.8, 5)]);
    expect(values(out.rejectedRewards)).toEqual([expect.closeTo(-3, 5), expect.closeTo(-6, 5)]);
  });

  it('label smoothing and the CPO NLL term', () => {
    const ls = 0.1;
    const out = simpoLoss(base({ labelSmoothing: ls, cpoAlpha: 0.5 }));
    const pref = z.map((x) => -(1 - ls) * logSigmoid(x) - ls * logSigmoid(-x));
    const nll = (0.5 + 1.5 + 0.2 + 0.4 + 0.6) / 5;
    expect(out.nllLoss.dataSync()[0]).toBeCloseTo(nll, 5);
    expect(out.loss.dataSync()[0]).toBeCloseTo((pref[0] + pref[1]) / 2 + 0.5 * nll, 5);
  });

  it('gradient matches finite differences, padding gets none', () => {
    const b = base({ labelSmoothing: 0.1, cpoAlpha: 0.3 });
    const g = gradientCheck((x) => simpoLoss({ ...b, policyChosenLogps: x }).loss, [[-0.5, -1.5, -2], [-0.2, -0.4, -0.6]]);
    g.analytic.forEach((v, i) => expect(v).toBeCloseTo(g.numeric[i], 3));
    expect(g.analytic[2]).toBe(0);
  });

  it('rejects bad input naming the field', () => {
    expect(() => simpoLoss(base({ beta: -2 }))).toThrow('beta: must be > 0, got -2');
    expect(() => simpoLoss(base({ gamma: Number.NaN }))).toThrow('gamma: must be a finite number, got NaN');
    expect(() => simpoLoss(base({ cpoAlpha: -1 }))).toThrow('cpoAlpha: must be >= 0, got -1');
    expect(() => simpoLoss(base({ labelSmoothing: 0.7 }))).toThrow('labelSmoothing: must be in [0, 0.5), got 0.7');
  });

  it('leaks no tensors', () => {
    const b = base({ cpoAlpha: 1 });
    const before = tf.memory().numTensors;
    tf.dispose(Object.values(simpoLoss(b)));
    expect(tf.memory().numTensors).toBe(before);
  });
});
