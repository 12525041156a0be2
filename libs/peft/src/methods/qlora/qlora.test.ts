// QLoRA: the targeted bases become packed 4-bit NF4 (double-quantized scales) QuantizedLinears from
// @tuneloop/quant, LoRA runs over the dequantized weight, and merging dequantizes (and says so).
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@tuneloop/engine';
import { TINY_LLAMA, tinyModel } from '@tuneloop/model';
import { QuantizedLinear, quantizeModelLinears } from '@tuneloop/quant';
import { beforeAll, describe, expect, it } from 'vitest';
import { getPeftMethod } from '../../index.ts';
import { normalTensor } from '../../core/random.ts';
import type { LoraLayer } from '../lora/layer.ts';

const qlora = getPeftMethod('qlora');

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
});

describe('QLoRA', () => {
  it('keeps the base packed (NF4 codes, double-quant state) and adds s x A^T B^T to the dequantized base', () => {
    const model = tinyModel(TINY_LLAMA, 1);
    const pm = qlora.apply(model, qlora.parseConfig({ r: 2, lora_alpha: 4, target_modules: ['up_proj'], block_size: 64 }));
    const l = pm.layers.get('model.layers.0.mlp.up_proj') as LoraLayer;
    expect(l.base).toBeInstanceOf(QuantizedLinear);
    const q = (l.base as QuantizedLinear).weight;
    expect(q.scheme).toBe('nf4');
    expect(q.codes.length).toBe((24 * 16) / 2); // two 4-bit codes per byte
    expect(q.doubleQuant).not.toBeNull();
    expect(q.absmax).toBeNull();
    l.setTensor('lora_B.weight', normalTensor(l.peftShape('lora_B.weight'), 0.3, 4));
    const x = normalTensor([3, 16], 1, 5) as tf.Tensor2D;
    const deq = tf.tensor2d((l.base as QuantizedLinear).dequantizedWeight(), [24, 16]);
    const want = tf.tidy(() => tf.add(tf.matMul(x, deq, false, true), tf.mul(tf.matMul(tf.matMul(x, l.exportTensor('lora_A.weight') as tf.Tensor2D, false, true), l.exportTensor('lora_B.weight') as tf.Tensor2D, false, true), l.scale)));
    const got = l.forward(x);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(got, want))).dataSync()[0])).toBeLessThan(1e-5);
    expect(pm.merge().every((r) => r.dequantized)).toBe(true);
    const merged = l.forward(x);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(merged, want))).dataSync()[0])).toBeLessThan(1e-5);
    tf.dispose([x, deq, want, got, merged]);
    pm.unload();
    model.dispose();
  });

  it('wraps a model whose dense bases were released (packed bases kept, merge dequantizes, unload restores)', () => {
    const model = tinyModel(TINY_LLAMA, 2);
    const ids = [[1, 4, 7, 2, 9, 3]];
    quantizeModelLinears(model, { scheme: 'nf4', doubleQuant: true, blockSize: 64 });
    const name = 'model.layers.1.self_attn.v_proj';
    const packed = model.linears().get(name) as QuantizedLinear;
    expect(model.baseLinear(name)).toBeUndefined();
    const before = tf.tidy(() => model.forward({ inputIds: ids }).dataSync());
    const tensors = tf.memory().numTensors;
    const pm = qlora.apply(model, qlora.parseConfig({ r: 2, lora_alpha: 4, target_modules: ['v_proj', 'down_proj'] }));
    const l = pm.layers.get(name) as LoraLayer;
    expect(l.base).toBe(packed); // not quantized a second time
    tf.tidy(() => l.setTensor('lora_B.weight', normalTensor(l.peftShape('lora_B.weight'), 0.3, 4)));
    const adapted = tf.tidy(() => model.forward({ inputIds: ids }).dataSync());
    expect(Array.from(adapted)).not.toEqual(Array.from(before));
    expect(pm.merge().every((r) => r.dequantized)).toBe(true);
    const merged = tf.tidy(() => model.forward({ inputIds: ids }).dataSync());
    expect(Array.from(adapted).reduce((mx, v, i) => Math.max(mx, Math.abs(v - (merged[i] as number))), 0)).toBeLessThan(1e-4);
    pm.unmerge();
    pm.unload();
    expect(model.linears().get(name)).toBe(packed);
    const after = tf.tidy(() => model.forward({ inputIds: ids }).dataSync());
    expect(Array.from(after)).toEqual(Array.from(before));
    expect(tf.memory().numTensors).toBe(tensors);
    const w = model.namedWeights(); // dequantized packed bases
    expect(Array.from(w.get(`${name}.weight`)!.dataSync())).toEqual(Array.from(packed.dequantizedWeight()));
    tf.dispose([...w.values()]);
    model.dispose();
  });
  it('validates the quantization fields', () => {
    expect(() => qlora.parseConfig({ bnb_4bit_quant_type: 'int4' })).toThrow('bnb_4bit_quant_type: must be one of "nf4", "fp4", got "int4"');
    expect(() => qlora.parseConfig({ block_size: 48 })).toThrow('block_size: must be a power of two in [32, 4096], got 48');
    expect(qlora.parseConfig({ bnb_4bit_quant_type: 'fp4' })).toMatchObject({ bnb_4bit_quant_type: 'fp4', bnb_4bit_use_double_quant: true, block_size: 64 });
  });
});
