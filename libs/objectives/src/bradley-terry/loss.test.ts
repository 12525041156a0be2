// Bradley-Terry reward loss checked by hand, with margin and reward centering.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../util/test-setup.ts';
import { bradleyTerryLoss } from './index.ts';
import { gradientCheck, logSigmoid } from '../util/testing.ts';

const rc = [1.0, 0.2, -0.5];
const rr = [0.0, 0.4, -1.0];

describe('bradleyTerryLoss', () => {
  it('-log sigmoid(r_c - r_r), accuracy and mean margin', () => {
    const out = bradleyTerryLoss({ rewardsChosen: tf.tensor1d(rc), rewardsRejected: tf.tensor1d(rr) });
    expect(out.loss.dataSync()[0]).toBeCloseTo(-(logSigmoid(1.0) + logSigmoid(-0.2) + logSigmoid(0.5)) / 3, 5);
    expect(out.accuracy.dataSync()[0]).toBeCloseTo(2 / 3, 6);
    expect(out.meanMargin.dataSync()[0]).toBeCloseTo((1.0 - 0.2 + 0.5) / 3, 6);
  });

  it('margin enters the loss, not the accuracy; centering adds coef * mean((r_c + r_r)^2)', () => {
    const margin = [0.5, 0.0, 1.0];
    const out = bradleyTerryLoss({
      rewardsChosen: tf.tensor1d(rc),
      rewardsRejected: tf.tensor1d(rr),
      margin: tf.tensor1d(margin),
      centerRewardsCoefficient: 0.01,
    });
    const nll = -(logSigmoid(1.0 - 0.5) + logSigmoid(-0.2 - 0) + logSigmoid(0.5 - 1.0)) / 3;
    const center = 0.01 * ((1.0) ** 2 + (0.6) ** 2 + (-1.5) ** 2) / 3;
    expect(out.loss.dataSync()[0]).toBeCloseTo(nll + center, 5);
    expect(out.accuracy.dataSync()[0]).toBeCloseTo(2 / 3, 6);
    const scalarMargin = bradleyTerryLoss({ rewardsChosen: tf.tensor1d(rc), rewardsRejected: tf.tensor1d(rr), margin: 0.5 });
    expect(scalarMargin.loss.dataSync()[0]).toBeCloseTo(-(logSigmoid(0.5) + logSigmoid(-0.7) + logSigmoid(0)) / 3, 5);
  });

  it('gradient matches finite differences', () => {
    const g = gradientCheck((x) => bradleyTerryLoss({ rewardsChosen: x, rewardsRejected: tf.tensor1d(rr), centerRewardsCoefficient: 0.1 }).loss, rc);
    g.analytic.forEach((v, i) => expect(v).toBeCloseTo(g.numeric[i], 3));
  });

  it('leaks no tensors', () => {
    const c = tf.tensor1d(rc);
    const r = tf.tensor1d(rr);
    const before = tf.memory().numTensors;
    tf.dispose(Object.values(bradleyTerryLoss({ rewardsChosen: c, rewardsRejected: r, margin: 0.1, centerRewardsCoefficient: 0.01 })));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad input naming the field', () => {
    expect(() => bradleyTerryLoss({ rewardsChosen: tf.tensor1d(rc), rewardsRejected: tf.tensor1d([1]) })).toThrow('rewardsRejected: must have the shape of rewardsChosen [3], got [1]');
    expect(() => bradleyTerryLoss({ rewardsChosen: tf.tensor2d([rc]), rewardsRejected: tf.tensor1d(rr) })).toThrow('rewardsChosen: must have rank 1, got shape [1, 3]');
    expect(() => bradleyTerryLoss({ rewardsChosen: tf.tensor1d(rc), rewardsRejected: tf.tensor1d(rr), centerRewardsCoefficient: -1 })).toThrow('centerRewardsCoefficient: must be >= 0, got -1');
  });
});
