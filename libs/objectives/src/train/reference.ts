// The frozen reference policy of DPO / IPO / KTO: for a LoRA-family policy the base with every adapter
// disabled (HF PEFT's disable_adapter), otherwise the starting weights. Its sequence log-probs are computed
// once per example, before training, and cached (TRL's precompute_ref_log_probs).
import * as tf from '@tensorflow/tfjs-core';
import { buildLogprobBatch, sequenceLogprobs, type CausalLM, type LinearModule } from '@tuneloop/model';

/** Runs `fn` with each adapter linear of `model` (a module with a `base` LinearModule) swapped for its base. */
export function withAdaptersDisabled<T>(model: CausalLM, fn: () => T): T {
  const swapped: [string, LinearModule][] = [];
  for (const [name, mod] of model.linears()) {
    const base = (mod as unknown as { base?: LinearModule }).base;
    if (base && typeof base.forward === 'function') {
      swapped.push([name, mod]);
      model.setLinear(name, base);
    }
  }
  try {
    return fn();
  } finally {
    for (const [name, mod] of swapped) model.setLinear(name, mod);
  }
}

/** Summed completion log-probs [N] of (prompt, completion) id lists, in batches, no gradient. */
export function sequenceLogpSums(model: CausalLM, prompts: number[][], completions: number[][], padId: number, batchSize = 32): Float32Array {
  const out = new Float32Array(prompts.length);
  for (let i = 0; i < prompts.length; i += batchSize) {
    const batch = buildLogprobBatch(prompts.slice(i, i + batchSize), completions.slice(i, i + batchSize), padId);
    const sums = tf.tidy(() => {
      const { logprobs } = sequenceLogprobs(model, batch);
      return tf.sum(logprobs, 1);
    });
    out.set(sums.dataSync(), i);
    sums.dispose();
  }
  return out;
}

/** Reference sums for chosen and rejected responses of encoded pairs (adapters disabled). */
export function referenceLogps(
  model: CausalLM,
  pairs: { prompt: number[]; chosen: number[]; rejected: number[] }[],
  padId: number,
  batchSize = 32,
): { chosen: Float32Array; rejected: Float32Array } {
  return withAdaptersDisabled(model, () => ({
    chosen: sequenceLogpSums(model, pairs.map((p) => p.prompt), pairs.map((p) => p.chosen), padId, batchSize),
    rejected: sequenceLogpSums(model, pairs.map((p) => p.prompt), pairs.map((p) => p.rejected), padId, batchSize),
  }));
}
