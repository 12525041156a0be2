// Hugging Face LlamaForCausalLM / Qwen2ForCausalLM tensor names and shapes for a config, and a seeded
// random initialisation in that layout (normal(0, 0.02) as HF's initializer_range; norms at 1).
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@tuneloop/engine';
import { headDimOf, validateModelConfig, type ModelConfig } from './config.ts';

/** name -> shape of every tensor a checkpoint of this config holds (HF linear weights are [out, in]). */
export function expectedWeightShapes(config: ModelConfig): Map<string, number[]> {
  const c = validateModelConfig(config);
  const d = c.hiddenSize;
  const hd = headDimOf(c);
  const qOut = c.numAttentionHeads * hd;
  const kvOut = c.numKeyValueHeads * hd;
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [c.vocabSize, d]);
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const p = `model.layers.${i}`;
    m.set(`${p}.input_layernorm.weight`, [d]);
    m.set(`${p}.self_attn.q_proj.weight`, [qOut, d]);
    m.set(`${p}.self_attn.k_proj.weight`, [kvOut, d]);
    m.set(`${p}.self_attn.v_proj.weight`, [kvOut, d]);
    if (c.attentionBias) {
      m.set(`${p}.self_attn.q_proj.bias`, [qOut]);
      m.set(`${p}.self_attn.k_proj.bias`, [kvOut]);
      m.set(`${p}.self_attn.v_proj.bias`, [kvOut]);
    }
    m.set(`${p}.self_attn.o_proj.weight`, [d, qOut]);
    m.set(`${p}.post_attention_layernorm.weight`, [d]);
    m.set(`${p}.mlp.gate_proj.weight`, [c.intermediateSize, d]);
    m.set(`${p}.mlp.up_proj.weight`, [c.intermediateSize, d]);
    m.set(`${p}.mlp.down_proj.weight`, [d, c.intermediateSize]);
  }
  m.set('model.norm.weight', [d]);
  if (!c.tieWordEmbeddings) m.set('lm_head.weight', [c.vocabSize, d]);
  return m;
}

/** Parameter count of a config (tied embeddings counted once). */
export function countParameters(config: ModelConfig): number {
  let n = 0;
  for (const s of expectedWeightShapes(config).values()) n += s.reduce((a, b) => a * b, 1);
  return n;
}

/**
 * Random weights in HF layout: linears and embeddings ~ N(0, std), biases 0, norms 1. With
 * `scaleResidual` the output projections (o_proj, down_proj) use std / sqrt(2 * layers) (GPT-2).
 */
export function initWeights(config: ModelConfig, rng: Rng, std = 0.02, scaleResidual = true): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  const residStd = scaleResidual ? std / Math.sqrt(2 * config.numHiddenLayers) : std;
  for (const [name, shape] of expectedWeightShapes(config)) {
    if (name.endsWith('norm.weight')) out.set(name, tf.ones(shape));
    else if (name.endsWith('.bias')) out.set(name, tf.zeros(shape));
    else if (name.endsWith('o_proj.weight') || name.endsWith('down_proj.weight')) out.set(name, rng.normalTensor(shape, residStd));
    else out.set(name, rng.normalTensor(shape, std));
  }
  return out;
}
