// Causal grouped-query self-attention (Ainslie et al. 2023) with RoPE, as in HF LlamaAttention / Qwen2Attention.
// Query heads h*rep .. h*rep+rep-1 share key/value head h (HF repeat_kv order).
import * as tf from '@tensorflow/tfjs-core';
import type { LinearModule } from './linear.ts';
import { applyRope, type RopeTables } from './rope.ts';
import type { KvCache } from './kv-cache.ts';

export interface AttentionShape {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
}

export interface AttentionInputs {
  batch: number; // B
  length: number; // T (new tokens this call)
  positions: tf.Tensor2D; // [B, T] int32 position ids
  maskBias: tf.Tensor4D; // [B, 1, T, S] additive: 0 where allowed, -1e9 where masked
  cache?: KvCache; // when present, keys/values are appended to it and attention spans all S positions
  layer: number; // index into the cache
}

/** x [B*T, d] -> [B*T, d]. */
export function selfAttention(
  x: tf.Tensor2D,
  proj: { q: LinearModule; k: LinearModule; v: LinearModule; o: LinearModule },
  shape: AttentionShape,
  rope: RopeTables,
  inp: AttentionInputs,
): tf.Tensor2D {
  const { numHeads: h, numKvHeads: kvh, headDim: hd } = shape;
  const { batch: b, length: t } = inp;
  const rep = h / kvh;
  const heads = (y: tf.Tensor2D, n: number) =>
    tf.transpose(tf.reshape(y, [b, t, n, hd]), [0, 2, 1, 3]) as tf.Tensor4D; // [B*T, n*D] -> [B, T, n, D] -> [B, n, T, D]
  const q = applyRope(heads(proj.q.forward(x), h), inp.positions, rope); // [B, H, T, D]
  let k = applyRope(heads(proj.k.forward(x), kvh), inp.positions, rope); // [B, kvH, T, D]
  let v = heads(proj.v.forward(x), kvh); // [B, kvH, T, D]
  if (inp.cache) ({ k, v } = inp.cache.append(inp.layer, k, v)); // [B, kvH, S, D]
  const s = k.shape[2];
  const qg = tf.reshape(q, [b, kvh, rep * t, hd]); // [B, kvH, rep*T, D]: a group's query heads stacked
  const scores = tf.reshape(tf.matMul(qg, k, false, true), [b, h, t, s]); // [B, kvH, rep*T, S] -> [B, H, T, S]
  const scaled = tf.add(tf.mul(scores, 1 / Math.sqrt(hd)), inp.maskBias); // [B, H, T, S]
  const probs = tf.softmax(scaled, -1); // [B, H, T, S]
  const ctx = tf.matMul(tf.reshape(probs, [b, kvh, rep * t, s]), v); // [B, kvH, rep*T, S] · [B, kvH, S, D] = [B, kvH, rep*T, D]
  const merged = tf.reshape(tf.transpose(tf.reshape(ctx, [b, h, t, hd]), [0, 2, 1, 3]), [b * t, h * hd]); // [B, H, T, D] -> [B, T, H, D] -> [B*T, H*D]
  return proj.o.forward(merged as tf.Tensor2D);
}
