// Seeded initialisers for adapter tensors (Kaiming-uniform as torch's nn.Linear default, gaussian),
// from a small deterministic PRNG (mulberry32) so an adapter is reproducible on every backend.
import * as tf from '@tensorflow/tfjs-core';

/** 32-bit FNV-1a hash, to derive a per-module seed from (seed, module name). */
export function deriveSeed(seed: number, key: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: uniform floats in [0, 1). */
export function uniformStream(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** U(-bound, bound). */
export function uniformTensor(shape: number[], bound: number, seed: number): tf.Tensor {
  const next = uniformStream(seed);
  const data = new Float32Array(size(shape));
  for (let i = 0; i < data.length; i++) data[i] = (2 * next() - 1) * bound;
  return tf.tensor(data, shape, 'float32');
}

/** N(0, std^2) by Box-Muller. */
export function normalTensor(shape: number[], std: number, seed: number): tf.Tensor {
  const next = uniformStream(seed);
  const data = new Float32Array(size(shape));
  for (let i = 0; i < data.length; i += 2) {
    const u1 = Math.max(next(), 1e-12);
    const u2 = next();
    const r = Math.sqrt(-2 * Math.log(u1));
    data[i] = r * Math.cos(2 * Math.PI * u2) * std;
    if (i + 1 < data.length) data[i + 1] = r * Math.sin(2 * Math.PI * u2) * std;
  }
  return tf.tensor(data, shape, 'float32');
}

/**
 * torch.nn.init.kaiming_uniform_(w, a=sqrt(5)) for a weight [out, in] (fan_in = shape[1]):
 * gain = sqrt(2 / (1 + 5)), bound = gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in).
 */
export function kaimingUniform(shape: [number, number], seed: number): tf.Tensor2D {
  return uniformTensor(shape, 1 / Math.sqrt(shape[1]), seed) as tf.Tensor2D;
}
