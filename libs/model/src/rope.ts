// Rotary position embeddings (Su et al. 2021, RoFormer) in Hugging Face's rotate_half layout, with
// plain frequencies base^(-2i/d) and Llama 3.1's `llama3` rope scaling of the inverse frequencies.
import * as tf from '@tensorflow/tfjs-core';
import { headDimOf, type ModelConfig } from './config.ts';

/** Inverse frequencies theta_i = base^(-2i/headDim), i < headDim/2, scaled as transformers' _compute_llama3_parameters. */
export function ropeInvFreq(config: ModelConfig): Float64Array {
  const dim = headDimOf(config);
  const half = dim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(config.ropeTheta, (2 * i) / dim);
  const s = config.ropeScaling;
  if (!s) return inv;
  const lowFreqWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highFreqWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  for (let i = 0; i < half; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen > lowFreqWavelen) inv[i] = inv[i] / s.factor;
    else if (wavelen >= highFreqWavelen) {
      const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
    }
  }
  return inv;
}

/** cos/sin tables [maxPositions, headDim/2]: angle(p, i) = p * theta_i (computed in float64). */
export interface RopeTables {
  cos: tf.Tensor2D;
  sin: tf.Tensor2D;
  maxPositions: number;
}

export function ropeTables(config: ModelConfig, maxPositions = config.maxPositionEmbeddings): RopeTables {
  const inv = ropeInvFreq(config);
  const half = inv.length;
  const c = new Float32Array(maxPositions * half);
  const s = new Float32Array(maxPositions * half);
  for (let p = 0; p < maxPositions; p++) {
    for (let i = 0; i < half; i++) {
      c[p * half + i] = Math.cos(p * inv[i]);
      s[p * half + i] = Math.sin(p * inv[i]);
    }
  }
  return {
    cos: tf.keep(tf.tensor2d(c, [maxPositions, half])),
    sin: tf.keep(tf.tensor2d(s, [maxPositions, half])),
    maxPositions,
  };
}

/**
 * Rotates x [B, H, T, D] at positions [B, T] (int32): with x = [x1, x2] split at D/2,
 * out = [x1 cos - x2 sin, x2 cos + x1 sin] (HF `x * cos + rotate_half(x) * sin`).
 */
export function applyRope(x: tf.Tensor4D, positions: tf.Tensor2D, tables: RopeTables): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, , t, d] = x.shape;
    const half = d / 2;
    const flat = tf.reshape(positions, [-1]); // [B*T]
    const cos = tf.reshape(tf.gather(tables.cos, flat), [b, 1, t, half]); // [B, 1, T, D/2]
    const sin = tf.reshape(tf.gather(tables.sin, flat), [b, 1, t, half]); // [B, 1, T, D/2]
    const x1 = tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, half]); // [B, H, T, D/2]
    const x2 = tf.slice(x, [0, 0, 0, half], [-1, -1, -1, half]); // [B, H, T, D/2]
    const o1 = tf.sub(tf.mul(x1, cos), tf.mul(x2, sin));
    const o2 = tf.add(tf.mul(x2, cos), tf.mul(x1, sin));
    return tf.concat([o1, o2], 3) as tf.Tensor4D; // [B, H, T, D]
  });
}
