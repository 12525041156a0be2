// PolicyOptimizer: linear warmup of the learning rate (Adam's first step moves a weight by the full lr
// whatever the gradient's size), constant after it; bad warmupSteps names the field.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@tuneloop/engine';
import { beforeAll, describe, expect, it } from 'vitest';
import { PolicyOptimizer } from './optimizer.ts';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
});

describe('PolicyOptimizer warmup', () => {
  it('ramps the learning rate linearly over warmupSteps, then holds it; each Adam step moves the weight by that lr', () => {
    const w = tf.variable(tf.scalar(1), true, 'w');
    const opt = new PolicyOptimizer([w], { lr: 0.1, clipNorm: 10, weightDecay: 0, warmupSteps: 3 });
    const lrs: number[] = [];
    const moves: number[] = [];
    for (let i = 0; i < 5; i++) {
      lrs.push(opt.lr);
      const before = w.dataSync()[0];
      // loss = w (gradient 1): Adam's normalised update is exactly lr (bias-corrected moments, constant gradient)
      opt.step(() => ({ loss: tf.sum(w) as tf.Scalar, metrics: {} }));
      moves.push(before - w.dataSync()[0]);
    }
    const want = [0.025, 0.05, 0.075, 0.1, 0.1];
    lrs.forEach((x, i) => expect(x).toBeCloseTo(want[i], 9));
    moves.forEach((x, i) => expect(x).toBeCloseTo(want[i], 5));
    opt.dispose();
    w.dispose();
  });

  it('without warmup the first step already uses the full lr', () => {
    const w = tf.variable(tf.scalar(0), true, 'w0');
    const opt = new PolicyOptimizer([w], { lr: 0.01, clipNorm: 1, weightDecay: 0 });
    expect(opt.lr).toBe(0.01);
    opt.step(() => ({ loss: tf.mul(w, -3) as tf.Scalar, metrics: {} }));
    expect(w.dataSync()[0]).toBeCloseTo(0.01, 6);
    opt.dispose();
    w.dispose();
  });

  it('names a bad warmupSteps', () => {
    const w = tf.variable(tf.scalar(0), true, 'w1');
    expect(() => new PolicyOptimizer([w], { lr: 0.1, clipNorm: 1, weightDecay: 0, warmupSteps: -1 })).toThrow(/^warmupSteps: must be an integer >= 0, got -1$/);
    expect(() => new PolicyOptimizer([w], { lr: 0.1, clipNorm: 1, weightDecay: 0, warmupSteps: 1.5 })).toThrow(/^warmupSteps: must be an integer >= 0, got 1.5$/);
    w.dispose();
  });
});
