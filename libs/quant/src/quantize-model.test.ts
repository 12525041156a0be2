// quantizeModelLinears on the tiny Llama of @tuneloop/model: the linear table is replaced, and the
// language-model loss moves least for int8, more for nf4, most for int2 (seeded random weights; measured
// relative loss change 0.57% / 3.6% / 10.0%; perplexity on a trained tiny model is the bench's job).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { causalLmLoss, tinyModel, TINY_LLAMA } from '@tuneloop/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { QuantizedLinear } from './quantized-linear.ts';
import { quantizeModelLinears } from './quantize-model.ts';
import type { QuantScheme } from './types.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ids = [[1, 5, 9, 3, 7, 11, 4, 8, 12, 6, 10, 2]];
const loss = (m: ReturnType<typeof tinyModel>) => tf.tidy(() => causalLmLoss(m, ids).dataSync()[0]);

describe('quantizeModelLinears', () => {
  it('replaces every linear but lm_head and reports the bytes it holds', () => {
    const m = tinyModel(TINY_LLAMA, 3);
    const r = quantizeModelLinears(m, { scheme: 'nf4', doubleQuant: true });
    expect(r.quantized.length).toBe(2 * 7);
    expect(r.skipped).toEqual(['lm_head']);
    for (const name of r.quantized) expect(m.linears().get(name)).toBeInstanceOf(QuantizedLinear);
    expect(r.quantizedBytes / r.fp32Bytes).toBeLessThan(0.2);
    // a second pass finds nothing dense left to quantize
    expect(quantizeModelLinears(m, { scheme: 'int8' }).quantized).toEqual([]);
    m.dispose();
  });

  it('moves the loss least for int8, then nf4, then int2', () => {
    const fp32 = tinyModel(TINY_LLAMA, 3);
    const base = loss(fp32);
    fp32.dispose();
    const delta = (scheme: QuantScheme, doubleQuant = false) => {
      const m = tinyModel(TINY_LLAMA, 3);
      quantizeModelLinears(m, { scheme, doubleQuant });
      const l = loss(m);
      m.dispose();
      return Math.abs(l - base) / base;
    };
    const d = { int8: delta('int8'), nf4: delta('nf4', true), int2: delta('int2') };
    expect(d.int8).toBeLessThan(0.01);
    expect(d.int8).toBeLessThan(d.nf4);
    expect(d.nf4).toBeLessThan(d.int2);
  });

  it('backpropagates through the quantized linears to the embeddings without leaking tensors', () => {
    const m = tinyModel(TINY_LLAMA, 4);
    quantizeModelLinears(m, { scheme: 'nf4', doubleQuant: true });
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => causalLmLoss(m, ids), [m.embedTokens]);
        return { loss: value.dataSync()[0], g: grads[m.embedTokens.name].dataSync() };
      });
    const first = step();
    const before = tf.memory().numTensors;
    const second = step();
    expect(tf.memory().numTensors).toBe(before);
    expect(second.loss).toBe(first.loss);
    expect(first.g.every(Number.isFinite)).toBe(true);
    expect(first.g.some((v) => v !== 0)).toBe(true);
    // central finite difference on one embedding entry of a token in the sequence
    const idx = 5 * TINY_LLAMA.hiddenSize + 3;
    const eps = 1e-2;
    const shifted = (d: number) => {
      const e = m.embedTokens.dataSync().slice();
      e[idx] += d;
      tf.tidy(() => m.embedTokens.assign(tf.tensor2d(e, m.embedTokens.shape)));
      const l = loss(m);
      e[idx] -= d;
      tf.tidy(() => m.embedTokens.assign(tf.tensor2d(e, m.embedTokens.shape)));
      return l;
    };
    const fd = (shifted(eps) - shifted(-eps)) / (2 * eps);
    expect(first.g[idx]).toBeCloseTo(fd, 3);
    m.dispose();
  });
});
