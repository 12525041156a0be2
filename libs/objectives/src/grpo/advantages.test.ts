// GRPO advantages by hand: group std (unbiased, + 1e-4), batch std, no scaling, an all-equal group.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../util/test-setup.ts';
import { grpoAdvantages, type GrpoScaleRewards } from './index.ts';
import { values } from '../util/testing.ts';

// Two prompts, G = 3: group 0 rewards [1, 0, 0], group 1 all equal [0.5, 0.5, 0.5].
const rewards = [1, 0, 0, 0.5, 0.5, 0.5];

describe('grpoAdvantages', () => {
  it("'group': (r - mean) / (unbiased group std + 1e-4); an all-equal group gives 0, not NaN", () => {
    const a = values(grpoAdvantages({ rewards, groupSize: 3, scaleRewards: 'group' }));
    const mean0 = 1 / 3;
    const std0 = Math.sqrt(((1 - mean0) ** 2 + 2 * mean0 ** 2) / 2); // sqrt(1/3)
    expect(a.slice(0, 3)).toEqual([
      expect.closeTo((1 - mean0) / (std0 + 1e-4), 5),
      expect.closeTo(-mean0 / (std0 + 1e-4), 5),
      expect.closeTo(-mean0 / (std0 + 1e-4), 5),
    ]);
    expect(a.slice(3)).toEqual([0, 0, 0]);
  });

  it("'batch': group mean subtracted, divided by the unbiased std of the whole batch", () => {
    const a = values(grpoAdvantages({ rewards: tf.tensor1d(rewards), groupSize: 3, scaleRewards: 'batch' }));
    const m = 2.5 / 6;
    const std = Math.sqrt(rewards.reduce((s, r) => s + (r - m) ** 2, 0) / 5);
    expect(a).toEqual([2 / 3, -1 / 3, -1 / 3, 0, 0, 0].map((c) => expect.closeTo(c / (std + 1e-4), 5)));
  });

  it("'none': rewards minus the group mean", () => {
    const a = values(grpoAdvantages({ rewards: [3, 1, 2, 6], groupSize: 2, scaleRewards: 'none' }));
    expect(a).toEqual([1, -1, -2, 2]);
  });

  it('rejects bad input naming the field', () => {
    expect(() => grpoAdvantages({ rewards, groupSize: 1, scaleRewards: 'group' })).toThrow('groupSize: must be an integer >= 2, got 1');
    expect(() => grpoAdvantages({ rewards, groupSize: 4, scaleRewards: 'group' })).toThrow('rewards: length must be a positive multiple of groupSize (4), got 6');
    expect(() => grpoAdvantages({ rewards, groupSize: 3, scaleRewards: 'std' as GrpoScaleRewards })).toThrow("scaleRewards: must be one of 'group', 'batch', 'none', got 'std'");
    expect(() => grpoAdvantages({ rewards: [1, Number.NaN], groupSize: 2, scaleRewards: 'group' })).toThrow('rewards: must be finite numbers, got NaN at index 1');
  });

  it('leaks no tensors', () => {
    const before = tf.memory().numTensors;
    tf.dispose(grpoAdvantages({ rewards, groupSize: 3, scaleRewards: 'batch' }));
    expect(tf.memory().numTensors).toBe(before);
  });
});
