// The objective registry: every objective is registered once under its name, duplicates throw,
// unknown names list the known ones, and metrics come out under TRL's names.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import './util/test-setup.ts';
import { getObjective, listObjectives, registerObjective, type DpoLossInput, type DpoLossOutput } from './index.ts';

describe('objective registry', () => {
  it('holds every objective of the library', () => {
    expect(listObjectives()).toEqual(['bradley_terry', 'dpo', 'grpo', 'kto', 'orpo', 'ppo', 'sft', 'simpo']);
  });

  it('throws on a duplicate name and on an unknown name', () => {
    const dpo = getObjective('dpo');
    expect(() => registerObjective({ ...dpo })).toThrow("objective 'dpo' is already registered");
    expect(() => getObjective('rlhf')).toThrow("objective: unknown objective 'rlhf' (known: bradley_terry, dpo, grpo");
    expect(() => registerObjective({ ...dpo, name: 'Bad-Name' })).toThrow('objective name: must be snake_case');
  });

  it('reports DPO metrics under TRL names', () => {
    const dpo = getObjective<DpoLossInput, DpoLossOutput>('dpo');
    const m = tf.tidy(() =>
      dpo.metrics(
        dpo.loss({
          policyChosenLogps: tf.tensor2d([[-1], [-2]]),
          policyRejectedLogps: tf.tensor2d([[-2], [-1]]),
          refChosenLogps: tf.tensor2d([[-1.5], [-1.5]]),
          refRejectedLogps: tf.tensor2d([[-1.5], [-1.5]]),
          chosenMask: tf.ones([2, 1]),
          rejectedMask: tf.ones([2, 1]),
          beta: 0.1,
          lossType: 'sigmoid',
        }),
      ),
    );
    expect(Object.keys(m).sort()).toEqual(['logps/chosen', 'logps/rejected', 'loss', 'rewards/accuracies', 'rewards/chosen', 'rewards/margins', 'rewards/rejected']);
    expect(m['rewards/chosen']).toBeCloseTo(0, 6); // (0.05 - 0.05) / 2
    expect(m['rewards/accuracies']).toBe(0.5);
    expect(m['rewards/margins']).toBeCloseTo(0, 6);
  });
});
