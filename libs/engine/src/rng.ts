// Seeded pseudo-random numbers (SplitMix32 seeding + xoshiro128**): every random draw in tuneloop
// (weight init, dropout masks, sampling) goes through an Rng so that the same seed gives the same run.
import * as tf from '@tensorflow/tfjs-core';

export interface Rng {
  readonly seed: number;
  next(): number; // uniform in [0, 1)
  nextUint32(): number; // uniform 32-bit unsigned integer
  int(n: number): number; // uniform integer in [0, n)
  normal(): number; // standard normal (Box-Muller)
  shuffle<T>(xs: T[]): T[]; // Fisher-Yates in place; returns xs
  fork(label?: number): Rng; // an independent stream derived from this one
  normalTensor(shape: number[], std?: number, mean?: number): tf.Tensor; // float32 N(mean, std^2)
  uniformTensor(shape: number[], lo?: number, hi?: number): tf.Tensor; // float32 U[lo, hi)
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

class Xoshiro128 implements Rng {
  readonly seed: number;
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;

  constructor(seed: number) {
    this.seed = seed;
    const sm = splitmix32(seed);
    this.s0 = sm();
    this.s1 = sm();
    this.s2 = sm();
    this.s3 = sm();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  nextUint32(): number {
    const result = Math.imul(((Math.imul(this.s1, 5) << 7) | (Math.imul(this.s1, 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = ((this.s3 << 11) | (this.s3 >>> 21)) >>> 0;
    return result;
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }

  int(n: number): number {
    if (!Number.isInteger(n) || n < 1) throw new Error(`n: must be an integer >= 1, got ${n}`);
    return Math.floor(this.next() * n);
  }

  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }

  fork(label = 0): Rng {
    return new Xoshiro128((this.nextUint32() ^ Math.imul(label + 1, 0x27d4eb2d)) >>> 0);
  }

  normalTensor(shape: number[], std = 1, mean = 0): tf.Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = mean + std * this.normal();
    return tf.tensor(data, shape, 'float32');
  }

  uniformTensor(shape: number[], lo = 0, hi = 1): tf.Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * this.next();
    return tf.tensor(data, shape, 'float32');
  }
}

/** A seeded generator; `seed` must be an integer (it is taken modulo 2^32). */
export function createRng(seed: number): Rng {
  if (!Number.isInteger(seed)) throw new Error(`seed: must be an integer, got ${seed}`);
  return new Xoshiro128(seed >>> 0);
}
