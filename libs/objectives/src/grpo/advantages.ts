// GRPO group-relative advantages, as TRL's GRPOTrainer._generate_and_score_completions:
// A_i = (r_i - mean(group)) / (std + 1e-4) (Shao et al. 2024, DeepSeekMath, Sec. 4.1.2), where std is
// the unbiased std of the group ('group'), of the whole batch ('batch', Liu et al. 2025 / LitePPO)
// or no scaling at all ('none', Dr. GRPO, Liu et al. 2025 Sec. 3.1).
import * as tf from '@tensorflow/tfjs-core';
import { ObjectiveInputError } from '../util/errors.ts';
import { requireInteger, requireOneOf } from '../util/validate.ts';

export const GRPO_SCALE_REWARDS = ['group', 'batch', 'none'] as const;
export type GrpoScaleRewards = (typeof GRPO_SCALE_REWARDS)[number];

export interface GrpoAdvantagesInput {
  /** One reward per completion, [P * G], the G completions of a prompt consecutive. */
  rewards: tf.Tensor | number[];
  /** Completions per prompt, G >= 2. */
  groupSize: number;
  scaleRewards: GrpoScaleRewards;
}

/** Std floor added to the denominator, as TRL. */
export const GRPO_STD_EPS = 1e-4;

export function grpoAdvantages(input: GrpoAdvantagesInput): tf.Tensor1D {
  const groupSize = requireInteger('groupSize', input.groupSize, 2);
  const scale = requireOneOf('scaleRewards', input.scaleRewards, GRPO_SCALE_REWARDS);
  const r = input.rewards;
  let values: number[];
  if (r instanceof tf.Tensor) {
    if (r.rank !== 1) throw new ObjectiveInputError('rewards', `must have rank 1 ([P * G]), got shape [${r.shape.join(', ')}]`);
    values = Array.from(r.dataSync());
  } else if (Array.isArray(r)) {
    values = r;
  } else {
    throw new ObjectiveInputError('rewards', 'must be a tf.Tensor1D or number[]');
  }
  const n = values.length;
  if (n === 0 || n % groupSize !== 0) {
    throw new ObjectiveInputError('rewards', `length must be a positive multiple of groupSize (${groupSize}), got ${n}`);
  }
  const bad = values.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
  if (bad >= 0) throw new ObjectiveInputError('rewards', `must be finite numbers, got ${values[bad]} at index ${bad}`);

  return tf.tidy(() => {
    const flat = tf.tensor1d(values, 'float32');
    const grouped = tf.reshape(flat, [n / groupSize, groupSize]); // [P, G]
    const mean = tf.mean(grouped, 1, true); // [P, 1]
    const centered = tf.reshape(tf.sub(grouped, mean), [n]); // [P * G]
    if (scale === 'none') return centered as tf.Tensor1D;
    let std: tf.Tensor; // broadcastable to [P * G]
    if (scale === 'group') {
      const groupVar = tf.div(tf.sum(tf.square(tf.sub(grouped, mean)), 1), groupSize - 1); // [P]
      std = tf.reshape(tf.tile(tf.reshape(tf.sqrt(groupVar), [-1, 1]), [1, groupSize]), [n]);
    } else {
      if (n < 2) throw new ObjectiveInputError('rewards', 'batch scaling needs at least 2 rewards');
      std = tf.sqrt(tf.div(tf.sum(tf.square(tf.sub(flat, tf.mean(flat)))), n - 1));
    }
    return tf.div(centered, tf.add(std, GRPO_STD_EPS)) as tf.Tensor1D;
  });
}
