// SFT loss: token mean of the NLL over the completion mask, by hand.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../util/test-setup.ts';
import { sftLoss } from './index.ts';
import { gradientCheck } from '../util/testing.ts';

describe('sftLoss', () => {
  it('is -sum(logp * mask) / sum(mask) over the batch', () => {
    const out = sftLoss({ logps: tf.tensor2d([[-1, -2, -Infinity], [-0.5, -0.5, -0.5]]), mask: tf.tensor2d([[1, 1, 0], [0, 1, 1]]) });
    expect(out.loss.dataSync()[0]).toBeCloseTo((1 + 2 + 0.5 + 0.5) / 4, 6);
    expect(out.numTokens.dataSync()[0]).toBe(4);
    const g = gradientCheck((x) => sftLoss({ logps: x, mask: tf.tensor2d([[1, 1, 0], [0, 1, 1]]) }).loss, [[-1, -2, -3], [-0.5, -0.5, -0.5]]);
    expect(g.analytic).toEqual([-0.25, -0.25, 0, 0, -0.25, -0.25]);
    g.analytic.forEach((v, i) => expect(v).toBeCloseTo(g.numeric[i], 3));
  });

  it('rejects a mask of another shape', () => {
    expect(() => sftLoss({ logps: tf.zeros([2, 3]), mask: tf.ones([2, 2]) })).toThrow('mask: must have the shape of logps [2, 3], got [2, 2]');
  });
});
