// Validation of a batch of preference pairs: policy (and optionally reference) per-token log-probs
// of the chosen and rejected completions with their masks. Layout: row i of every tensor is pair i.
import * as tf from '@tensorflow/tfjs-core';
import { ObjectiveInputError } from './errors.ts';
import { requireDim, requireNonEmptyBatch, requireSameShape, requireTensor } from './validate.ts';

export interface CheckedSide {
  logps: tf.Tensor; // [B, T]
  mask: tf.Tensor; // [B, T]
}

/** Checks policy log-probs [B, T] against their mask [B, T] and the batch size of the other side. */
export function checkSide(logpsField: string, logps: unknown, maskField: string, mask: unknown): CheckedSide {
  const l = requireTensor(logpsField, logps, 2);
  const m = requireTensor(maskField, mask, 2);
  requireSameShape(logpsField, l, maskField, m);
  requireNonEmptyBatch(logpsField, l);
  return { logps: l, mask: m };
}

export function requireSameBatch(fieldA: string, a: tf.Tensor, fieldB: string, b: tf.Tensor): void {
  requireDim(fieldB, b, 0, a.shape[0], `the batch size of ${fieldA}`);
}

/**
 * A reference input is either per-token log-probs with the policy's shape [B, T], or the already
 * summed sequence log-prob [B] (what a trainer caches once per example).
 */
export function checkReference(field: string, ref: unknown, policyField: string, policy: tf.Tensor): tf.Tensor {
  if (!(ref instanceof tf.Tensor)) {
    throw new ObjectiveInputError(field, `must be a tf.Tensor [B, T] or [B], got ${String(ref)}`);
  }
  if (ref.rank === 1) {
    requireDim(field, ref, 0, policy.shape[0], `the batch size of ${policyField}`);
    return ref;
  }
  requireTensor(field, ref, 2);
  requireSameShape(policyField, policy, field, ref);
  return ref;
}
