// Per-token log-probs log p(x_t | x_<t) of completion tokens, batched with padding and differentiable:
// the primitive SFT, DPO, PPO and GRPO consume. Target log-probs are picked with a one-hot product so the
// gradient needs no gather-gradient kernel (absent on WASM).
import * as tf from '@tensorflow/tfjs-core';
import { oneHotFloat } from '@tuneloop/engine';
import type { CausalLM } from './transformer.ts';

export interface LogprobBatch {
  inputIds: number[][]; // [B, T] prompt + completion, padded
  attentionMask: number[][]; // [B, T] 1 = real token
  completionMask: number[][]; // [B, T] 1 = completion token whose log-prob counts
}

export interface SequenceLogprobs {
  logprobs: tf.Tensor2D; // [B, T]: log p(x_t | x_<t) at completion positions, 0 elsewhere
  mask: tf.Tensor2D; // [B, T] 0/1: completion tokens (never position 0, never padding)
}

/** Log-softmax of `logits` [N, V] at `targets` [N] -> [N], via a one-hot product (differentiable on every backend). */
export function pickLogprobs(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits, -1); // [N, V]
    const oneHot = oneHotFloat(targets, logits.shape[1]); // [N, V]
    return tf.sum(tf.mul(logp, oneHot), -1) as tf.Tensor1D; // [N]
  });
}

/** Per-token completion log-probs [B, T] and mask [B, T] for `batch` (see LogprobBatch). */
export function sequenceLogprobs(model: CausalLM, batch: LogprobBatch): SequenceLogprobs {
  const { inputIds, attentionMask, completionMask } = batch;
  const b = inputIds.length;
  const t = inputIds[0]?.length ?? 0;
  if (t < 2) throw new Error(`inputIds: sequences must have length >= 2, got ${t}`);
  const maskData = new Float32Array(b * t);
  const targets = new Int32Array(b * (t - 1));
  for (let i = 0; i < b; i++) {
    if (completionMask[i]?.length !== t) throw new Error(`completionMask[${i}]: must have length ${t}, got ${completionMask[i]?.length}`);
    for (let j = 1; j < t; j++) {
      maskData[i * t + j] = completionMask[i][j] && attentionMask[i][j] && attentionMask[i][j - 1] ? 1 : 0;
      targets[i * (t - 1) + j - 1] = inputIds[i][j];
    }
  }
  return tf.tidy(() => {
    const v = model.config.vocabSize;
    const logits = model.forward({ inputIds, attentionMask }); // [B, T, V]
    const prev = tf.reshape(tf.slice(logits, [0, 0, 0], [b, t - 1, v]), [b * (t - 1), v]); // [B, T-1, V] -> [B*(T-1), V]
    const lp = tf.reshape(pickLogprobs(prev as tf.Tensor2D, tf.tensor1d(targets, 'int32')), [b, t - 1]); // [B, T-1]
    const shifted = tf.concat([tf.zeros([b, 1]), lp], 1); // [B, T]: position t holds log p(x_t | x_<t)
    const mask = tf.tensor2d(maskData, [b, t]);
    return { logprobs: tf.mul(shifted, mask) as tf.Tensor2D, mask };
  });
}

/**
 * Packs prompt/completion pairs into a LogprobBatch, padded on the left (default, as for generation)
 * or the right with `padId`.
 */
export function buildLogprobBatch(
  prompts: number[][],
  completions: number[][],
  padId: number,
  side: 'left' | 'right' = 'left',
): LogprobBatch {
  if (prompts.length !== completions.length) {
    throw new Error(`completions: expected ${prompts.length} (one per prompt), got ${completions.length}`);
  }
  const len = Math.max(...prompts.map((p, i) => p.length + completions[i].length));
  const out: LogprobBatch = { inputIds: [], attentionMask: [], completionMask: [] };
  prompts.forEach((p, i) => {
    const c = completions[i];
    const n = p.length + c.length;
    const pad = new Array(len - n).fill(padId);
    const zeros = new Array(len - n).fill(0);
    const ids = [...p, ...c];
    const am = new Array(n).fill(1);
    const cm = [...new Array(p.length).fill(0), ...new Array(c.length).fill(1)];
    out.inputIds.push(side === 'left' ? [...pad, ...ids] : [...ids, ...pad]);
    out.attentionMask.push(side === 'left' ? [...zeros, ...am] : [...am, ...zeros]);
    out.completionMask.push(side === 'left' ? [...zeros, ...cm] : [...cm, ...zeros]);
  });
  return out;
}

/** Mean next-token cross-entropy over real tokens (t >= 1) of `batch`: the causal LM loss, as a scalar. */
export function causalLmLoss(model: CausalLM, inputIds: number[][], attentionMask?: number[][], lossMask?: number[][]): tf.Scalar {
  const am = attentionMask ?? inputIds.map((r) => r.map(() => 1));
  const { logprobs, mask } = sequenceLogprobs(model, { inputIds, attentionMask: am, completionMask: lossMask ?? am });
  return tf.tidy(() => tf.div(tf.neg(tf.sum(logprobs)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar);
}
