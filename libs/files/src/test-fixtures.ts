// Test helpers: tiny HF-layout configs and seeded random weights in any stored dtype.
import { expectedWeightShapes, fromFloat32, numElements, type DType, type ModelConfig, type RawTensor } from '@tuneloop/model';

export function tinyConfig(over: Partial<ModelConfig> = {}): ModelConfig {
  return {
    modelType: 'llama',
    vocabSize: 24,
    hiddenSize: 16,
    intermediateSize: 32,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    maxPositionEmbeddings: 64,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    ropeScaling: null,
    attentionBias: false,
    tieWordEmbeddings: false,
    bosTokenId: 1,
    eosTokenId: 2,
    padTokenId: 0,
    ...over,
  };
}

/** Seeded uniform(-0.5, 0.5) weights (norm weights around 1) with HF names and shapes. */
export function randomWeights(config: ModelConfig, dtype: DType, seed = 1): Map<string, RawTensor> {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Map<string, RawTensor>();
  for (const [name, shape] of expectedWeightShapes(config)) {
    const values = new Float32Array(numElements(shape));
    const norm = name.endsWith('layernorm.weight') || name === 'model.norm.weight';
    for (let i = 0; i < values.length; i++) values[i] = norm ? 1 + 0.1 * (next() - 0.5) : (next() - 0.5) * 0.5;
    out.set(name, fromFloat32(values, dtype, shape));
  }
  return out;
}
