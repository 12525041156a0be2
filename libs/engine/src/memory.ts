// Memory guard for tests and long loops: tfjs tensor counts before/after, so leaks fail loudly.
import * as tf from '@tensorflow/tfjs-core';

export interface TensorGrowth {
  before: number; // tf.memory().numTensors at the start
  after: number; // at the end
  growth: number; // after - before
}

/** Runs `fn` `times` times (after `warmup` runs, which may allocate caches) and reports tensor growth. */
export async function measureTensorGrowth(
  fn: (i: number) => unknown | Promise<unknown>,
  times: number,
  warmup = 1,
): Promise<TensorGrowth> {
  for (let i = 0; i < warmup; i++) await fn(i);
  const before = tf.memory().numTensors;
  for (let i = 0; i < times; i++) await fn(warmup + i);
  const after = tf.memory().numTensors;
  return { before, after, growth: after - before };
}

/** Throws when `fn` repeated `times` times leaves more tensors alive than it found (after warm-up). */
export async function assertNoTensorGrowth(
  fn: (i: number) => unknown | Promise<unknown>,
  times: number,
  label = 'block',
  warmup = 1,
): Promise<TensorGrowth> {
  const g = await measureTensorGrowth(fn, times, warmup);
  if (g.growth > 0) {
    throw new Error(`${label}: ${g.growth} tensors leaked over ${times} runs (${g.before} -> ${g.after})`);
  }
  return g;
}
