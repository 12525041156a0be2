// Backend parity: every loss (value and gradient w.r.t. the policy log-probs) gives the same numbers
// on the WASM backend (the default on machines without tfjs-node) as on the CPU backend.
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import './util/test-setup.ts';
import { initBackend } from '@tuneloop/engine';
import { dpoLoss, grpoAdvantages, grpoLoss, ktoLoss, orpoLoss, ppoLoss, simpoLoss, type DpoLossType } from './index.ts';

const piW = [[-1, -2, -0.5], [-0.2, -0.3, -4]];
const piL = [[-2, -2, -1], [-1, -0.5, -0.5]];
const mW = [[1, 1, 1], [1, 1, 0]];
const mL = [[1, 1, 0], [1, 1, 1]];

/** Loss value and gradient w.r.t. the first policy input of each objective, as plain numbers. */
function evaluate(): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const record = (name: string, f: (x: tf.Tensor) => tf.Scalar, x: number[][]) =>
    tf.tidy(() => {
      const { value, grad } = tf.valueAndGrad(f)(tf.tensor2d(x));
      out[name] = [value.dataSync()[0], ...grad.dataSync()];
    });
  const masks = () => ({ chosenMask: tf.tensor2d(mW), rejectedMask: tf.tensor2d(mL) });
  for (const lossType of ['sigmoid', 'hinge', 'ipo', 'robust'] as DpoLossType[]) {
    record(`dpo/${lossType}`, (x) => dpoLoss({
      policyChosenLogps: x, policyRejectedLogps: tf.tensor2d(piL), refChosenLogps: tf.tensor1d([-4, -1]),
      refRejectedLogps: tf.tensor1d([-3, -2.5]), ...masks(), beta: 0.3, lossType, labelSmoothing: lossType === 'robust' ? 0.1 : 0,
    }).loss, piW);
  }
  record('orpo', (x) => orpoLoss({ policyChosenLogps: x, policyRejectedLogps: tf.tensor2d(piL), ...masks(), beta: 0.2 }).loss, piW);
  record('simpo', (x) => simpoLoss({ policyChosenLogps: x, policyRejectedLogps: tf.tensor2d(piL), ...masks(), beta: 2, gamma: 0.5, cpoAlpha: 0.5, labelSmoothing: 0.1 }).loss, piW);
  record('kto', (x) => ktoLoss({
    labels: [true, false], policyLogps: x, refLogps: tf.tensor1d([-3, -1]), mask: tf.tensor2d(mW),
    klPolicyLogps: tf.tensor2d(piL), klRefLogps: tf.tensor1d([-4, -3]), klMask: tf.tensor2d(mL), beta: 0.5,
  }).loss, piW);
  const adv = grpoAdvantages({ rewards: [1, 0], groupSize: 2, scaleRewards: 'group' });
  record('grpo', (x) => grpoLoss({
    advantages: adv, logps: x, oldLogps: tf.tensor2d(piL), refLogps: tf.tensor2d(piL), mask: tf.tensor2d(mW), beta: 0.1,
    epsilonLow: 0.2, epsilonHigh: 0.28, lossType: 'grpo',
  }).loss, piW);
  adv.dispose();
  record('ppo', (x) => ppoLoss({
    logps: x, oldLogps: tf.tensor2d(piL), advantages: tf.tensor2d([[1, -1, 0.5], [-0.5, 2, 1]]), values: tf.tensor2d(piL),
    oldValues: tf.zeros([2, 3]), returns: tf.ones([2, 3]), mask: tf.tensor2d(mW), clipRange: 0.2, clipRangeValue: 0.2, vfCoef: 0.1,
  }).loss, piW);
  return out;
}

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('objectives on WASM', () => {
  it('match the CPU backend (values and gradients)', async () => {
    const cpu = evaluate();
    expect(Object.keys(cpu)).toHaveLength(9);
    for (const [name, v] of Object.entries(cpu)) expect(v.slice(1).some((g) => Math.abs(g) > 1e-3), name).toBe(true);
    await initBackend({ backend: 'wasm' });
    expect(tf.getBackend()).toBe('wasm');
    const wasm = evaluate();
    for (const [name, ref] of Object.entries(cpu)) {
      expect(wasm[name].length, name).toBe(ref.length);
      ref.forEach((v, i) => expect(wasm[name][i], `${name}[${i}]`).toBeCloseTo(v, 4));
    }
  });
});
