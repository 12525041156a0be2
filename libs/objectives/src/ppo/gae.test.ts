// GAE and whitening by hand, with gamma / lambda and right padding.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../util/test-setup.ts';
import { gae, whiten } from './index.ts';
import { values } from '../util/testing.ts';

describe('gae', () => {
  it('delta_t = r_t + gamma V_{t+1} - V_t, A_t = delta_t + gamma lam A_{t+1}; padding is terminal', () => {
    const g = 0.9;
    const l = 0.8;
    const out = gae({
      rewards: tf.tensor2d([[0, 0, 1], [0.2, 1.0, 9]]),
      values: tf.tensor2d([[0.5, 0.6, 0.7], [0.1, 0.3, 9]]),
      mask: tf.tensor2d([[1, 1, 1], [1, 1, 0]]),
      gamma: g,
      lam: l,
    });
    const a02 = 1 + g * 0 - 0.7;
    const a01 = 0 + g * 0.7 - 0.6 + g * l * a02;
    const a00 = 0 + g * 0.6 - 0.5 + g * l * a01;
    const a11 = 1.0 + g * 0 - 0.3;
    const a10 = 0.2 + g * 0.3 - 0.1 + g * l * a11;
    expect(values(out.advantages)).toEqual([a00, a01, a02, a10, a11, 0].map((x) => expect.closeTo(x, 5)));
    expect(values(out.returns)).toEqual([a00 + 0.5, a01 + 0.6, a02 + 0.7, a10 + 0.1, a11 + 0.3, 0].map((x) => expect.closeTo(x, 5)));
  });

  it('gamma = lam = 1 gives Monte-Carlo returns minus the value', () => {
    const out = gae({ rewards: tf.tensor2d([[1, 2, 3]]), values: tf.tensor2d([[0.5, 0.5, 0.5]]), mask: tf.ones([1, 3]), gamma: 1, lam: 1 });
    expect(values(out.advantages)).toEqual([5.5, 4.5, 2.5]);
    expect(values(out.returns)).toEqual([6, 5, 3]);
  });

  it('rejects bad input naming the field', () => {
    const r = tf.zeros([1, 3]);
    expect(() => gae({ rewards: r, values: r, mask: r, gamma: 1.5, lam: 0.9 })).toThrow('gamma: must be in [0, 1], got 1.5');
    expect(() => gae({ rewards: r, values: tf.zeros([1, 2]), mask: r, gamma: 1, lam: 0.9 })).toThrow('values: must have the shape of rewards [1, 3], got [1, 2]');
  });
});

describe('whiten', () => {
  it('masked mean 0 and unbiased variance 1 (+1e-8), 0 outside the mask', () => {
    const out = values(whiten(tf.tensor2d([[1, 2, 3], [4, 100, 100]]), tf.tensor2d([[1, 1, 1], [1, 0, 0]])));
    const s = Math.sqrt((2.25 + 0.25 + 0.25 + 2.25) / 3 + 1e-8);
    expect(out).toEqual([-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s, 0, 0].map((x) => expect.closeTo(x, 5)));
  });

  it('needs at least two entries', () => {
    expect(() => whiten(tf.tensor1d([1, 2]), tf.tensor1d([1, 0]))).toThrow('mask: needs at least 2 unmasked entries for an unbiased variance, got 1');
  });
});
