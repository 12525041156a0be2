// RoPE against its closed form (pairwise 2-D rotation by p * theta_i), llama3 scaling against its definition,
// and the custom-gradient pieces (linear, embedding) against autodiff / finite differences on both backends.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { createRng, initBackend } from '@tuneloop/engine';
import { applyRope, ropeInvFreq, ropeTables } from './rope.ts';
import { TINY_LLAMA } from './test-fixtures.ts';
import { linearOp, DenseLinear } from './linear.ts';
import { embeddingLookup } from './embedding.ts';

describe.each(['wasm', 'cpu'] as const)('rope and custom gradients on %s', (backend) => {
  beforeAll(async () => {
    await initBackend({ backend, quiet: true });
  });

  it('rotates each (i, i + D/2) pair by p * theta^(-2i/D)', () => {
    const cfg = { ...TINY_LLAMA, hiddenSize: 8, numAttentionHeads: 1, numKeyValueHeads: 1, ropeTheta: 100 };
    const d = 8;
    const tables = ropeTables(cfg, 32);
    const rng = createRng(4);
    const x = rng.normalTensor([1, 1, 3, d]) as tf.Tensor4D;
    const pos = [0, 5, 31];
    const out = applyRope(x, tf.tensor2d([pos], [1, 3], 'int32'), tables).arraySync()[0][0];
    const xs = x.arraySync()[0][0];
    for (let t = 0; t < 3; t++) {
      for (let i = 0; i < d / 2; i++) {
        const a = pos[t] * Math.pow(100, (-2 * i) / d);
        const [u, v] = [xs[t][i], xs[t][i + d / 2]];
        expect(out[t][i]).toBeCloseTo(u * Math.cos(a) - v * Math.sin(a), 5);
        expect(out[t][i + d / 2]).toBeCloseTo(v * Math.cos(a) + u * Math.sin(a), 5);
      }
    }
    tf.dispose([x, tables.cos, tables.sin]);
  });

  it('llama3 scaling keeps high frequencies, divides low ones by factor, interpolates between', () => {
    const cfg = {
      ...TINY_LLAMA,
      hiddenSize: 128,
      numAttentionHeads: 1,
      numKeyValueHeads: 1,
      ropeTheta: 500000,
      ropeScaling: { ropeType: 'llama3' as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
    };
    const scaled = ropeInvFreq(cfg);
    const plain = ropeInvFreq({ ...cfg, ropeScaling: null });
    for (let i = 0; i < 64; i++) {
      const wl = (2 * Math.PI) / plain[i];
      if (wl < 8192 / 4) expect(scaled[i]).toBe(plain[i]);
      else if (wl > 8192) expect(scaled[i]).toBeCloseTo(plain[i] / 8, 12);
      else {
        const s = (8192 / wl - 1) / 3;
        expect(scaled[i]).toBeCloseTo((1 - s) * (plain[i] / 8) + s * plain[i], 12);
      }
    }
    expect(scaled[63]).toBeCloseTo(plain[63] / 8, 12);
  });

  it('linearOp gradients equal stock autodiff of x W + b; frozen DenseLinear passes dx only', () => {
    const rng = createRng(2);
    const x = rng.normalTensor([5, 3]) as tf.Tensor2D;
    const w = rng.normalTensor([3, 4]) as tf.Tensor2D;
    const b = rng.normalTensor([4]) as tf.Tensor1D;
    const dy = rng.normalTensor([5, 4]);
    const f1 = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(linearOp(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D), dy));
    const f2 = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(tf.add(tf.matMul(xx, ww), bb), dy));
    const g1 = tf.grads(f1)([x, w, b]);
    const g2 = tf.grads(f2)([x, w, b]);
    g1.forEach((g, i) => {
      const a = g.dataSync();
      const e = g2[i].dataSync();
      a.forEach((v, j) => expect(v).toBeCloseTo(e[j], 4));
    });
    const lin = new DenseLinear('l', tf.transpose(w) as tf.Tensor2D, b, false);
    expect(lin.trainableVariables()).toEqual([]);
    const gx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(lin.forward(xx as tf.Tensor2D), dy)))(x).dataSync();
    gx.forEach((v, j) => expect(v).toBeCloseTo(g2[0].dataSync()[j], 4));
    expect(() => lin.forward(tf.zeros([2, 5]) as tf.Tensor2D)).toThrow('l: input must be [N, 3], got [2,5]');
    const nan = linearOp(tf.tensor2d([[NaN, 1, 1]]), w).dataSync();
    expect(Number.isNaN(nan[0])).toBe(true);
    lin.dispose();
    tf.dispose([x, w, b, dy, ...g1, ...g2]);
  });

  it('embedding gradient scatters rows (repeated ids add up) like a finite difference', () => {
    const table = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
    const ids = tf.tensor1d([2, 0, 2], 'int32');
    const dy = tf.tensor2d([[1, 10], [100, 1000], [2, 20]]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(embeddingLookup(t as tf.Tensor2D, ids), dy)))(table);
    expect(g.arraySync()).toEqual([[100, 1000], [0, 0], [3, 30]]);
    expect(() => embeddingLookup(table, tf.tensor1d([0.5]) as tf.Tensor1D)).toThrow('ids: must be int32, got float32');
    tf.dispose([table, ids, dy, g]);
  });
});
