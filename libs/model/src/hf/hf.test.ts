// HF layout helpers: config.json <-> ModelConfig on real-shaped configs, shard plans and index
// validation, weight-name checks, and stored <-> tfjs tensor conversion.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { fromFloat32 } from '../safetensors/dtypes.ts';
import { modelConfigFromHf, modelConfigToHf } from './config-json.ts';
import { generationConfigFromHf, generationConfigToHf } from './generation-config.ts';
import { parseShardIndex, planShards, shardIndexJson } from './sharding.ts';
import { rawFromTensors, tensorsFromRaw } from './tensors.ts';
import { checkWeights } from './weight-names.ts';
import { expectedWeightShapes } from '../weights.ts';

// Shaped like meta-llama/Llama-3.2-1B's config.json.
const llama32 = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 128000,
  eos_token_id: 128001,
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.45.0.dev0',
  use_cache: true,
  vocab_size: 128256,
};

// Shaped like Qwen/Qwen2.5-0.5B's config.json (no attention_bias field: Qwen2 always has q/k/v bias).
const qwen25 = {
  architectures: ['Qwen2ForCausalLM'],
  bos_token_id: 151643,
  eos_token_id: 151643,
  hidden_act: 'silu',
  hidden_size: 896,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 24,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

describe('config.json', () => {
  it('parses a Llama 3.2 config, including llama3 rope scaling, and writes it back unchanged', () => {
    const c = modelConfigFromHf(llama32);
    expect(c).toMatchObject({ modelType: 'llama', numKeyValueHeads: 8, headDim: 64, tieWordEmbeddings: true, attentionBias: false, eosTokenId: 128001 });
    expect(c.ropeScaling).toEqual({ ropeType: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
    expect(modelConfigToHf(c, llama32)).toEqual(llama32);
  });
  it('parses a Qwen2.5 config: qkv bias on, tied embeddings, unknown fields kept on save', () => {
    const c = modelConfigFromHf(qwen25);
    expect(c).toMatchObject({ modelType: 'qwen2', attentionBias: true, tieWordEmbeddings: true, ropeTheta: 1e6, numKeyValueHeads: 2 });
    const back = modelConfigToHf(c, qwen25);
    expect(back).toMatchObject({ ...qwen25, rope_scaling: null });
    expect(back).not.toHaveProperty('attention_bias');
  });
  it('applies transformers defaults for absent fields', () => {
    const { num_key_value_heads: _k, rope_theta: _r, rope_scaling: _s, ...bare } = llama32;
    const c = modelConfigFromHf(bare);
    expect([c.numKeyValueHeads, c.ropeTheta, c.ropeScaling]).toEqual([32, 10000, null]);
  });
  it('refuses what the transformer does not implement, naming the field', () => {
    expect(() => modelConfigFromHf({ ...llama32, model_type: 'mistral' })).toThrow(/model_type must be 'llama' or 'qwen2', got "mistral"/);
    expect(() => modelConfigFromHf({ ...llama32, hidden_act: 'gelu' })).toThrow(/hidden_act must be 'silu'/);
    expect(() => modelConfigFromHf({ ...llama32, rope_scaling: { rope_type: 'yarn', factor: 4 } })).toThrow(/rope_scaling type must be 'llama3'/);
    expect(() => modelConfigFromHf({ ...qwen25, use_sliding_window: true })).toThrow(/use_sliding_window/);
    expect(() => modelConfigFromHf({ ...llama32, num_key_value_heads: 5 })).toThrow(/numKeyValueHeads: must divide numAttentionHeads/);
  });
});

describe('generation_config.json', () => {
  it('maps the sampling fields and keeps the rest', () => {
    const raw = { bos_token_id: 1, eos_token_id: [2, 3], do_sample: true, temperature: 0.6, top_p: 0.9, transformers_version: '4.45.0' };
    const g = generationConfigFromHf(raw);
    expect(g).toMatchObject({ bosTokenId: 1, eosTokenId: [2, 3], doSample: true, temperature: 0.6, topP: 0.9 });
    expect(generationConfigToHf({ ...g, temperature: 0.7 })).toEqual({ ...raw, temperature: 0.7 });
    expect(() => generationConfigFromHf({ top_k: 'x' })).toThrow(/top_k has the wrong type/);
  });
});

describe('shards', () => {
  const t = (n: number) => fromFloat32(new Float32Array(n), 'F32', [n]);
  const tensors = new Map([['a', t(10)], ['b', t(10)], ['c', t(30)], ['d', t(5)]]);
  it('packs tensors in order under the byte bound, with transformers file names', () => {
    expect(planShards([...tensors], Infinity)).toEqual([{ file: 'model.safetensors', names: ['a', 'b', 'c', 'd'] }]);
    const plan = planShards([...tensors], 80);
    expect(plan).toEqual([
      { file: 'model-00001-of-00003.safetensors', names: ['a', 'b'] },
      { file: 'model-00002-of-00003.safetensors', names: ['c'] },
      { file: 'model-00003-of-00003.safetensors', names: ['d'] },
    ]);
    const index = shardIndexJson(plan, tensors);
    expect(index).toEqual({
      metadata: { total_size: 220 },
      weight_map: { a: plan[0].file, b: plan[0].file, c: plan[1].file, d: plan[2].file },
    });
    expect(parseShardIndex(index).files).toEqual(plan.map((p) => p.file));
  });
  it('rejects index entries that leave the folder', () => {
    expect(() => parseShardIndex({ weight_map: { a: '../evil.safetensors' } })).toThrow(/plain \*\.safetensors name/);
    expect(() => parseShardIndex({ weight_map: {} })).toThrow(/weight_map is empty/);
  });
});

describe('weight names', () => {
  const tiny = modelConfigFromHf({ ...qwen25, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, vocab_size: 11, bos_token_id: 0, eos_token_id: 1 });
  it('lists HF tensors with [out, in] shapes, q/k/v bias for Qwen2 and no lm_head when tied', () => {
    const shapes = expectedWeightShapes(tiny);
    expect(shapes.size).toBe(1 + 2 * 12 + 1);
    expect(shapes.get('model.layers.1.self_attn.k_proj.weight')).toEqual([4, 8]);
    expect(shapes.get('model.layers.1.self_attn.k_proj.bias')).toEqual([4]);
    expect(shapes.get('model.layers.0.mlp.down_proj.weight')).toEqual([8, 16]);
    expect(shapes.has('lm_head.weight')).toBe(false);
  });
  it('reports missing, unexpected and mis-shaped tensors', () => {
    const shapes = new Map<string, readonly number[]>(expectedWeightShapes(tiny));
    shapes.delete('model.norm.weight');
    shapes.set('model.layers.0.mlp.up_proj.weight', [8, 16]);
    shapes.set('model.layers.0.self_attn.rotary_emb.inv_freq', [2]);
    shapes.set('extra.weight', [1]);
    expect(checkWeights(tiny, shapes)).toEqual({
      missing: ['model.norm.weight'],
      unexpected: ['extra.weight'],
      mismatched: [{ name: 'model.layers.0.mlp.up_proj.weight', expected: [16, 8], got: [8, 16] }],
    });
  });
});

describe('stored <-> tfjs tensors', () => {
  it('a BF16 tensor goes to float32 and back to the same bytes', async () => {
    await tf.setBackend('cpu');
    const raw = new Map([['w', fromFloat32([0.1, -3.5, 1e-20, 123.456, 0, -0], 'BF16', [2, 3])]]);
    const before = tf.memory().numTensors;
    const tensors = tensorsFromRaw(raw);
    expect(tensors.get('w')!.shape).toEqual([2, 3]);
    const back = rawFromTensors(tensors, () => 'BF16');
    expect(Buffer.from(back.get('w')!.data).equals(Buffer.from(raw.get('w')!.data))).toBe(true);
    for (const t of tensors.values()) t.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
