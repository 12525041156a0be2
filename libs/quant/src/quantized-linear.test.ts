// QuantizedLinear: forward equals x · dequantize(W)^T (+ b) across tiles, dx matches central finite
// differences, no trainable variables, no tensor leak, and ~0.52 bytes per parameter for nf4 + DQ.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { DenseLinear, type LinearModule } from '@tuneloop/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { dequantize } from './quantize.ts';
import { QuantizedLinear, quantizeLinear } from './quantized-linear.ts';
import { seededGaussian } from './seeded-gaussian.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const OUT = 10;
const IN = 96; // 1.5 blocks of 64 per row: blocks straddle rows
const w = seededGaussian(OUT * IN, 5, 0.05);
const bias = seededGaussian(OUT, 6, 0.1);

/** Reference y = x W^T + b in float64 from the dequantized weight. */
function reference(x: Float32Array, n: number, wd: Float32Array, b: Float32Array | null): Float64Array {
  const y = new Float64Array(n * OUT);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < OUT; o++) {
      let s = b ? b[o] : 0;
      for (let k = 0; k < IN; k++) s += x[i * IN + k] * wd[o * IN + k];
      y[i * OUT + o] = s;
    }
  }
  return y;
}

describe('QuantizedLinear', () => {
  it.each([
    ['nf4', true, 3 * IN],
    ['nf4', false, 1 << 20],
    ['int8', false, 4 * IN],
    ['fp4', true, 7 * IN],
    ['int2', false, IN],
  ] as const)('%s (doubleQuant %s, tile %i) matches x · dequantize(W)^T + b', (scheme, doubleQuant, tileElements) => {
    const layer = quantizeLinear('model.layers.0.mlp.up_proj', w, { scheme, doubleQuant, shape: [OUT, IN], bias, tileElements });
    expect(layer.tileRows).toBe(Math.min(OUT, Math.floor(tileElements / IN)));
    const x = seededGaussian(4 * IN, 9);
    const y = tf.tidy(() => layer.forward(tf.tensor2d(x, [4, IN])).arraySync());
    const ref = reference(x, 4, dequantize(layer.weight), bias);
    expect(y.length).toBe(4);
    y.flat().forEach((v, i) => expect(v).toBeCloseTo(ref[i], 4));
    expect(Array.from(layer.dequantizedWeight())).toEqual(Array.from(dequantize(layer.weight)));
  });

  it('is a LinearModule that matches a frozen DenseLinear holding the dequantized weight', () => {
    const layer: LinearModule = quantizeLinear('model.layers.0.self_attn.q_proj', w, { scheme: 'nf4', doubleQuant: true, shape: [OUT, IN], bias, tileElements: 4 * IN });
    const q = layer as QuantizedLinear;
    const [wt, bt] = [tf.tensor2d(q.dequantizedWeight(), [OUT, IN]), tf.tensor1d(bias)];
    const dense = new DenseLinear(layer.name, wt, bt, false); // copies its inputs
    tf.dispose([wt, bt]);
    const x = tf.tensor2d(seededGaussian(5 * IN, 13), [5, IN]);
    const [a, b] = tf.tidy(() => [layer.forward(x).dataSync(), dense.forward(x).dataSync()]);
    Array.from(a).forEach((v, i) => expect(v).toBeCloseTo(b[i], 5));
    x.dispose();
    dense.dispose();
  });

  it('has no trainable variables and its dx matches central finite differences', () => {
    const layer = quantizeLinear('q_proj', w, { scheme: 'nf4', doubleQuant: true, shape: [OUT, IN], tileElements: 4 * IN });
    expect(layer.trainableVariables()).toEqual([]);
    const N = 3;
    const x0 = seededGaussian(N * IN, 11);
    const r = tf.tensor2d(seededGaussian(N * OUT, 12), [N, OUT]);
    const loss = (x: tf.Tensor) => tf.sum(tf.mul(layer.forward(x as tf.Tensor2D), r));
    const g = tf.tidy(() => tf.grad(loss)(tf.tensor2d(x0, [N, IN])).dataSync());
    const eps = 1e-2;
    for (const j of [0, 5, 95, 96 + 40, 2 * IN + 63, N * IN - 1]) {
      const lp = Float32Array.from(x0);
      const lm = Float32Array.from(x0);
      lp[j] += eps;
      lm[j] -= eps;
      const fd = tf.tidy(() => (loss(tf.tensor2d(lp, [N, IN])).dataSync()[0] - loss(tf.tensor2d(lm, [N, IN])).dataSync()[0]) / (2 * eps));
      expect(g[j]).toBeCloseTo(fd, 2);
    }
    // and exactly dy · W: row i of dx = sum_o r[i, o] W[o, :]
    const wd = dequantize(layer.weight);
    const rr = r.dataSync();
    for (let k = 0; k < IN; k += 17) {
      let s = 0;
      for (let o = 0; o < OUT; o++) s += rr[o] * wd[o * IN + k];
      expect(g[k]).toBeCloseTo(s, 4);
    }
    r.dispose();
  });

  it('does not leak tensors across forward + backward steps', () => {
    const layer = quantizeLinear('o_proj', w, { scheme: 'nf4', doubleQuant: true, shape: [OUT, IN], bias, tileElements: 2 * IN });
    const x = tf.tensor2d(seededGaussian(2 * IN, 3), [2, IN]);
    const step = () => tf.tidy(() => tf.grad((xi: tf.Tensor) => tf.sum(tf.square(layer.forward(xi as tf.Tensor2D))))(x).dataSync());
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('propagates a NaN input row without touching the other rows', () => {
    const layer = quantizeLinear('k_proj', w, { scheme: 'nf4', shape: [OUT, IN] });
    const x = seededGaussian(2 * IN, 4);
    x[IN + 3] = NaN;
    const y = tf.tidy(() => layer.forward(tf.tensor2d(x, [2, IN])).arraySync());
    expect(y[0].every(Number.isFinite)).toBe(true);
    expect(y[1].every(Number.isNaN)).toBe(true);
  });

  it('rejects a wrong dtype or shape with the exact error text', () => {
    const layer = quantizeLinear('v_proj', w, { scheme: 'int8', shape: [OUT, IN] });
    tf.tidy(() => {
      expect(() => layer.forward(tf.zeros([2, IN], 'int32') as tf.Tensor2D)).toThrow('v_proj: x: must have dtype float32, got int32');
      expect(() => layer.forward(tf.zeros([2, IN + 1]) as tf.Tensor2D)).toThrow('v_proj: x: must be a 2-D tensor [N, 96], got [2, 97]');
    });
    expect(() => quantizeLinear('v_proj', w, { scheme: 'int8' })).toThrow('shape: is required ([out, in]) when the weight is a Float32Array');
    expect(() => new QuantizedLinear('v_proj', layer.weight, new Float32Array(3))).toThrow('v_proj.bias: must be a Float32Array of 10 values, got length 3');
  });

  it('quantizes a weight tensor [out, in] and holds nf4 + double quant in about 0.52 bytes per parameter', () => {
    const big = tf.tensor2d(seededGaussian(256 * 256, 8, 0.02), [256, 256]);
    const b = tf.zeros([256]) as tf.Tensor1D;
    const layer = quantizeLinear('model.layers.0.mlp.down_proj', big, { scheme: 'nf4', doubleQuant: true, bias: b });
    tf.dispose([big, b]);
    expect(layer.bias?.length).toBe(256);
    expect([layer.outFeatures, layer.inFeatures]).toEqual([256, 256]);
    // 0.5 (codes) + 1/64 (8-bit absmax) + 4/(64*256) (absmax2) + 4/65536 (offset)
    expect(layer.bytesPerParameter()).toBeCloseTo(0.5 + 1 / 64 + 4 / (64 * 256) + 4 / 65536, 9);
    expect(layer.bytesPerParameter()).toBeLessThanOrEqual(0.52);
    expect(quantizeLinear('x', w, { scheme: 'int8', shape: [OUT, IN] }).bytesPerParameter()).toBeCloseTo((OUT * IN + 15 * 4) / (OUT * IN), 9);
  });
});
