// Tiny model configs and builders shared by the model tests (and usable by other libraries' tests).
import type { ModelConfig } from './config.ts';
import { createRng } from '@tuneloop/engine';
import { CausalLM } from './transformer.ts';
import { initWeights } from './weights.ts';

/** A 2-layer Llama with GQA (4 query heads, 2 kv heads), untied head: ~3k parameters. */
export const TINY_LLAMA: ModelConfig = {
  modelType: 'llama',
  vocabSize: 17,
  hiddenSize: 16,
  intermediateSize: 24,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  numKeyValueHeads: 2,
  maxPositionEmbeddings: 64,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  ropeScaling: null,
  attentionBias: false,
  tieWordEmbeddings: false,
  eosTokenId: 2,
  padTokenId: 0,
};

/** Qwen2-style: qkv bias, tied embeddings, llama3 rope scaling. */
export const TINY_QWEN2: ModelConfig = {
  ...TINY_LLAMA,
  modelType: 'qwen2',
  attentionBias: true,
  tieWordEmbeddings: true,
  numKeyValueHeads: 1,
  ropeScaling: { ropeType: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 16 },
};

/** A model with seeded random weights (std 0.2 so that logits vary visibly). */
export function tinyModel(config: ModelConfig = TINY_LLAMA, seed = 1, std = 0.2): CausalLM {
  const w = initWeights(config, createRng(seed), std, false);
  if (config.attentionBias) {
    const r = createRng(seed + 100);
    for (const [n, t] of w) {
      if (n.endsWith('.bias')) {
        t.dispose();
        w.set(n, r.normalTensor(t.shape, 0.1));
      }
    }
  }
  const m = new CausalLM(config, w);
  for (const t of w.values()) t.dispose();
  return m;
}
