// The frozen reference policy of an RL run: a given model (full fine-tuning keeps a frozen copy), else the
// policy with its adapters disabled (LoRA family). A policy without adapters and without a reference would be its
// own reference (every KL 0, the KL penalty silently off), so that case is refused where the KL matters.
import type * as tf from '@tensorflow/tfjs-core';
import { sequenceLogprobs, type CausalLM, type LogprobBatch } from '@tuneloop/model';
import { withAdaptersDisabled } from '@tuneloop/objectives';
import { RlInputError } from './errors.ts';

/** True when some linear of `model` wraps a base (an adapter that can be disabled). */
export function hasAdapters(model: CausalLM): boolean {
  for (const [, mod] of model.linears()) {
    const base = (mod as unknown as { base?: { forward?: unknown } }).base;
    if (base && typeof base.forward === 'function') return true;
  }
  return false;
}

/** Throws RlInputError('reference') when `model` has no adapters and no reference is given. */
export function requireReference(model: CausalLM, reference: CausalLM | undefined, why: string): void {
  if (!reference && !hasAdapters(model)) {
    throw new RlInputError('reference', `required (${why}): the policy has no adapters to disable, so it would be its own reference and every KL 0; pass a frozen copy`);
  }
}

/** Per-token reference log-probs [B, T] of `batch` (no gradient is taken through them by the callers). */
export function referenceLogprobs(model: CausalLM, reference: CausalLM | undefined, batch: LogprobBatch): tf.Tensor2D {
  return reference ? sequenceLogprobs(reference, batch).logprobs : withAdaptersDisabled(model, () => sequenceLogprobs(model, batch).logprobs);
}
