// LoRA numerics and files: forward = x W^T + b + s x A^T B^T (s = alpha/r, rsLoRA alpha/sqrt r), PEFT's
// init, gradients vs central finite differences, PEFT key names / config fields, and loading a PEFT-written adapter.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@tuneloop/engine';
import { DenseLinear, TINY_LLAMA, fromFloat32, serializeSafetensors, tinyModel, type LinearModule } from '@tuneloop/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeAdapterFiles, getPeftMethod, loadAdapter, saveAdapter, type PeftHost } from '../../index.ts';
import { normalTensor } from '../../core/random.ts';
import type { LoraLayer } from './layer.ts';

/** A host holding one dense linear 'proj' [out 5, in 7] with a bias. */
function oneLinearHost(seed = 1): PeftHost & { lin: DenseLinear } {
  const w = normalTensor([5, 7], 0.5, seed) as tf.Tensor2D;
  const b = normalTensor([5], 0.5, seed + 1) as tf.Tensor1D;
  const lin = new DenseLinear('model.layers.0.self_attn.q_proj', w, b);
  tf.dispose([w, b]);
  const table = new Map<string, LinearModule>([[lin.name, lin]]);
  return { lin, linears: () => new Map(table), setLinear: (n, m) => void table.set(n, m) };
}

const lora = getPeftMethod('lora');

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
});

describe('LoRA layer', () => {
  it('forward is x W^T + b + (alpha / r) x A^T B^T, and alpha / sqrt(r) with rsLoRA', () => {
    for (const use_rslora of [false, true]) {
      const host = oneLinearHost();
      const pm = lora.apply(host, lora.parseConfig({ r: 4, lora_alpha: 8, target_modules: ['q_proj'], use_rslora, init_lora_weights: false }));
      const layer = pm.layers.get(host.lin.name) as LoraLayer;
      expect(layer.scale).toBe(use_rslora ? 4 : 2);
      const x = normalTensor([3, 7], 1, 9) as tf.Tensor2D;
      const got = layer.forward(x);
      const want = tf.tidy(() => {
        const base = tf.add(tf.matMul(x, host.lin.weight(), false, true), host.lin.bias as tf.Tensor);
        const [A, B] = [layer.exportTensor('lora_A.weight'), layer.exportTensor('lora_B.weight')] as tf.Tensor2D[]; // [r, in], [out, r]
        return tf.add(base, tf.mul(tf.matMul(tf.matMul(x, A, false, true), B, false, true), layer.scale));
      });
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(got, want))).dataSync()[0])).toBeLessThan(1e-5);
      tf.dispose([x, got, want]);
      pm.unload();
      host.lin.dispose();
    }
  });

  it("initialises as PEFT: B = 0, A Kaiming-uniform within 1/sqrt(in), or N(0, 1/r^2) with 'gaussian'", () => {
    const host = oneLinearHost();
    const pm = lora.apply(host, lora.parseConfig({ r: 4, target_modules: ['q_proj'] }));
    const l = pm.layers.get(host.lin.name) as LoraLayer;
    expect(tf.tidy(() => tf.max(tf.abs(l.Bt)).dataSync()[0])).toBe(0);
    expect(l.peftShape('lora_A.weight')).toEqual([4, 7]);
    expect(l.peftShape('lora_B.weight')).toEqual([5, 4]);
    expect(tf.tidy(() => tf.max(tf.abs(l.At)).dataSync()[0])).toBeLessThanOrEqual(1 / Math.sqrt(7));
    pm.unload();
    const big = new DenseLinear('model.layers.0.self_attn.q_proj', tf.zeros([4, 4096]) as tf.Tensor2D);
    const t2 = new Map<string, LinearModule>([[big.name, big]]);
    const pm2 = lora.apply({ linears: () => new Map(t2), setLinear: (n, m) => void t2.set(n, m) }, lora.parseConfig({ r: 8, target_modules: ['q_proj'], init_lora_weights: 'gaussian' }));
    const std = tf.tidy(() => tf.sqrt(tf.mean(tf.square((pm2.layers.get(big.name) as LoraLayer).At))).dataSync()[0]);
    expect(std).toBeGreaterThan(0.95 / 8);
    expect(std).toBeLessThan(1.05 / 8);
    pm2.unload();
    big.dispose();
    host.lin.dispose();
  });

  it('gradients w.r.t. A and B match central finite differences', () => {
    const host = oneLinearHost(3);
    const pm = lora.apply(host, lora.parseConfig({ r: 2, lora_alpha: 4, target_modules: ['q_proj'], init_lora_weights: false }));
    const l = pm.layers.get(host.lin.name) as LoraLayer;
    const x = normalTensor([4, 7], 1, 11) as tf.Tensor2D;
    const loss = () => tf.tidy(() => tf.sum(tf.square(l.forward(x))) as tf.Scalar);
    const { grads } = tf.variableGrads(loss, [l.At, l.Bt]);
    for (const v of [l.At, l.Bt]) {
      const g = grads[v.name].dataSync();
      const vals = v.dataSync().slice();
      for (const i of [0, 3, vals.length - 1]) {
        const h = 1e-2;
        const at = (d: number) => {
          const p = vals.slice();
          p[i] += d;
          v.assign(tf.tensor(p, v.shape));
          return loss().dataSync()[0];
        };
        const fd = (at(h) - at(-h)) / (2 * h);
        v.assign(tf.tensor(vals, v.shape));
        expect(Math.abs(fd - g[i])).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
      }
    }
    tf.dispose([x, ...Object.values(grads)]);
    pm.unload();
    host.lin.dispose();
  });
});

describe('LoRA dropout and merge_and_unload', () => {
  it('applies dropout only while training', () => {
    const host = oneLinearHost();
    const pm = lora.apply(host, lora.parseConfig({ r: 4, lora_dropout: 0.5, target_modules: ['q_proj'], init_lora_weights: false }));
    const l = pm.layers.get(host.lin.name) as LoraLayer;
    const x = normalTensor([6, 7], 1, 3) as tf.Tensor2D;
    const d = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
    const [e1, e2] = [l.forward(x), l.forward(x)];
    expect(d(e1, e2)).toBe(0);
    pm.setTraining(true);
    const [t1, t2] = [l.forward(x), l.forward(x)];
    expect(d(t1, t2)).toBeGreaterThan(1e-3);
    pm.setTraining(false);
    const e3 = l.forward(x);
    expect(d(e1, e3)).toBe(0);
    tf.dispose([x, e1, e2, t1, t2, e3]);
    pm.unload();
    host.lin.dispose();
  });

  it('merge_and_unload puts one dense linear per target into the model, with the same outputs', () => {
    const model = tinyModel(TINY_LLAMA, 1);
    const pm = lora.apply(model, lora.parseConfig({ r: 2, target_modules: 'all-linear', init_lora_weights: false }));
    const y = model.forward({ inputIds: [[1, 2, 3, 4]] });
    const before = tf.memory().numTensors;
    const reports = pm.mergeAndUnload();
    expect(reports.length).toBe(14);
    expect(reports.every((r) => !r.dequantized)).toBe(true);
    expect(model.trainableVariables()).toEqual([]);
    expect(model.linears().get('model.layers.0.mlp.up_proj')?.constructor.name).toBe('FrozenDense');
    const ym = model.forward({ inputIds: [[1, 2, 3, 4]] });
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(y, ym))).dataSync()[0])).toBeLessThan(1e-4);
    expect(tf.memory().numTensors).toBe(before - 2 * 14 + 14 + 1); // A, B freed; one merged W^T per target; ym
    tf.dispose([y, ym]);
    model.dispose();
  });
});

describe('LoRA files (Hugging Face PEFT format)', () => {
  it("uses PEFT's tensor names, shapes and adapter_config.json fields", () => {
    const model = tinyModel(TINY_LLAMA, 1);
    const pm = lora.apply(model, lora.parseConfig({ r: 4, lora_alpha: 16, lora_dropout: 0.05, target_modules: ['q_proj', 'v_proj'], use_rslora: true }));
    const { adapterConfig, tensors } = saveAdapter(pm, { baseModel: 'org/tiny-llama' });
    expect(adapterConfig).toMatchObject({
      peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: 'org/tiny-llama', r: 4, lora_alpha: 16, lora_dropout: 0.05,
      target_modules: ['q_proj', 'v_proj'], use_rslora: true, use_dora: false, bias: 'none', init_lora_weights: true, fan_in_fan_out: false,
    });
    expect(tensors.get('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')?.shape).toEqual([4, 16]);
    expect(tensors.get('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight')?.shape).toEqual([8, 4]);
    expect(tensors.size).toBe(2 * 2 * 2);
    pm.unload();
    model.dispose();
  });

  it('loads an adapter as PEFT writes it (extra config fields, F16 tensors) and applies it', () => {
    const cfg = {
      alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: 'org/tiny-llama', bias: 'none', fan_in_fan_out: false, inference_mode: true,
      init_lora_weights: true, layer_replication: null, layers_pattern: null, layers_to_transform: null, loftq_config: {}, lora_alpha: 16,
      lora_dropout: 0.1, megatron_config: null, megatron_core: 'megatron.core', modules_to_save: null, peft_type: 'LORA', peft_version: '0.17.1',
      r: 2, rank_pattern: {}, revision: null, target_modules: ['v_proj', 'q_proj'], task_type: 'CAUSAL_LM', use_dora: false, use_rslora: false,
    };
    const values = new Map<string, { shape: number[]; data: Float32Array }>();
    let s = 0;
    for (let i = 0; i < 2; i++) {
      for (const [m, out] of [['q_proj', 16], ['v_proj', 8]] as const) {
        const p = `base_model.model.model.layers.${i}.self_attn.${m}`;
        values.set(`${p}.lora_A.weight`, { shape: [2, 16], data: normalTensor([32], 0.1, s++).dataSync() as Float32Array });
        values.set(`${p}.lora_B.weight`, { shape: [out, 2], data: normalTensor([out * 2], 0.1, s++).dataSync() as Float32Array });
      }
    }
    const bytes = serializeSafetensors(new Map([...values].map(([k, v]) => [k, fromFloat32(v.data, 'F16', v.shape)])), { format: 'pt' });
    const files = decodeAdapterFiles(JSON.stringify(cfg), bytes);
    const model = tinyModel(TINY_LLAMA, 1);
    const pm = loadAdapter(model, files);
    expect(pm.methodName).toBe('lora');
    const l = pm.layers.get('model.layers.1.self_attn.v_proj') as LoraLayer;
    expect(l.scale).toBe(8);
    const want = values.get('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight')?.data as Float32Array;
    const got = l.exportTensor('lora_B.weight').dataSync();
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-3);
    pm.unload();
    model.dispose();
  });

  it('refuses bad configs and mismatched files, naming the field or key', () => {
    const model = tinyModel(TINY_LLAMA, 1);
    expect(() => lora.parseConfig({ r: 0 })).toThrow('r: must be an integer >= 1, got 0');
    expect(() => lora.parseConfig({ lora_dropout: 1 })).toThrow('lora_dropout: must be a number in [0, 1), got 1');
    expect(() => lora.parseConfig({ rank: 8 })).toThrow(/rank: not a lora config field/);
    expect(() => lora.apply(model, lora.parseConfig({ target_modules: ['qkv'] }))).toThrow(/target_modules: 'qkv' is not a linear module/);
    const pm = lora.apply(model, lora.parseConfig({ r: 2 }));
    const files = saveAdapter(pm);
    pm.unload();
    const missing = { ...files, tensors: new Map([...files.tensors].slice(1)) };
    expect(() => loadAdapter(model, missing)).toThrow(/missing tensor 'base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight'/);
    const extra = { ...files, tensors: new Map([...files.tensors, ['base_model.model.model.layers.0.mlp.up_proj.lora_A.weight', files.tensors.values().next().value!]]) };
    expect(() => loadAdapter(model, extra)).toThrow(/unexpected tensor 'base_model\.model\.model\.layers\.0\.mlp\.up_proj\.lora_A\.weight'/);
    expect(model.linears().get('model.layers.0.self_attn.q_proj')).toBe(model.baseLinear('model.layers.0.self_attn.q_proj'));
    expect(() => loadAdapter(model, { adapterConfig: { peft_type: 'IA3' }, tensors: new Map() })).toThrow(/unsupported adapter type "IA3"/);
    expect(() => loadAdapter(model, { ...files, adapterConfig: { ...files.adapterConfig, modules_to_save: ['lm_head'] } })).toThrow(/modules_to_save: .* not supported/);
    expect(() => loadAdapter(model, { ...files, adapterConfig: { ...files.adapterConfig, init_lora_weights: 'pissa_niter_4' } })).toThrow(/init_lora_weights: 'pissa_niter_4' .* not supported/);
    model.dispose();
  });
});
