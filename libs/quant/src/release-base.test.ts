// Releasing a model's dense base when its linears are quantized (QLoRA memory, issue 4): the float32
// weights are disposed (tf.memory drops by 4 bytes per quantized parameter), outputs stay within
// quantization error, and a model built straight from packed linears is the same model.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { CausalLM, TINY_LLAMA, TINY_QWEN2, tinyModel, type LinearModule, type ModelConfig } from '@tuneloop/model';
import { beforeAll, describe, expect, it } from 'vitest';
import { QuantizedLinear, quantizeLinear } from './quantized-linear.ts';
import { quantizeModelLinears } from './quantize-model.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ids = [[1, 5, 9, 3, 7, 11, 4, 8, 12, 6, 10, 2]];
const logits = (m: CausalLM) => tf.tidy(() => m.forward({ inputIds: ids }).dataSync() as Float32Array);
const rms = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((mx, v, i) => Math.max(mx, Math.abs(v - b[i])), 0);

describe('releasing the dense base of quantized linears', () => {
  it('frees 4 bytes per quantized parameter and keeps the outputs within quantization error', () => {
    const ref = tinyModel(TINY_LLAMA, 3);
    const fp32 = logits(ref);
    ref.dispose();
    const start = tf.memory();
    const kept = tinyModel(TINY_LLAMA, 3);
    const afterBuild = tf.memory().numBytes;
    const keptReport = quantizeModelLinears(kept, { scheme: 'nf4', doubleQuant: true, releaseBase: false });
    expect(tf.memory().numBytes).toBe(afterBuild); // without release the fp32 copy stays resident
    const released = tinyModel(TINY_LLAMA, 3);
    const beforeRelease = tf.memory().numBytes;
    const params = released.numParameters();
    const r = quantizeModelLinears(released, { scheme: 'nf4', doubleQuant: true });
    expect(r.parameters).toBe(keptReport.parameters);
    expect(beforeRelease - tf.memory().numBytes).toBe(4 * r.parameters); // every quantized fp32 weight disposed
    expect(released.numParameters()).toBe(params); // packed parameters still counted
    const packedVars = released.variables().reduce((a, v) => a + v.size, 0);
    expect(packedVars).toBe(params - r.parameters); // only embeddings, norms and lm_head remain as variables
    for (const name of r.quantized) {
      expect(released.baseLinear(name)).toBeUndefined();
      expect(released.baseModule(name)).toBe(released.linears().get(name));
    }
    const a = logits(released);
    const b = logits(kept);
    expect(maxAbsDiff(a, b)).toBe(0); // release changes memory, not numbers
    // the only change is the weights' quantization error: the packed model computes exactly what a dense
    // model holding the dequantized weights computes
    const w = released.namedWeights();
    const deq = new CausalLM(TINY_LLAMA, w);
    tf.dispose([...w.values()]);
    expect(maxAbsDiff(a, logits(deq))).toBeLessThan(1e-4);
    deq.dispose();
    // vs float32 (a 16-wide random net with std 0.2 amplifies nf4's ~9% weight error: measured 0.40)
    const rel = rms(a.map((v, i) => v - fp32[i])) / rms(fp32);
    expect(rel).toBeGreaterThan(0.01);
    expect(rel).toBeLessThan(0.6);
    kept.dispose();
    released.dispose();
    expect(tf.memory().numTensors).toBe(start.numTensors);
    expect(tf.memory().numBytes).toBe(start.numBytes);
  });

  it('exports the dequantized weights from namedWeights and trains the remaining variables', () => {
    const m = tinyModel(TINY_QWEN2, 5); // q/k/v biases, tied head
    quantizeModelLinears(m, { scheme: 'int8' });
    const q = m.linears().get('model.layers.1.self_attn.k_proj') as QuantizedLinear;
    const w = m.namedWeights();
    expect([...w.keys()].length).toBe(tinyModelKeys(TINY_QWEN2));
    expect(Array.from(w.get('model.layers.1.self_attn.k_proj.weight')!.dataSync())).toEqual(Array.from(q.dequantizedWeight()));
    expect(Array.from(w.get('model.layers.1.self_attn.k_proj.bias')!.dataSync())).toEqual(Array.from(q.bias!));
    // the exported weights rebuild a dense model that computes what the packed one computes
    const rebuilt = new CausalLM(TINY_QWEN2, w);
    tf.dispose([...w.values()]);
    expect(maxAbsDiff(logits(rebuilt), logits(m))).toBeLessThan(1e-4);
    rebuilt.dispose();
    m.dispose();
  });

  it('builds a model straight from packed linears (no float32 copy) equal to quantize-then-release', () => {
    const src = tinyModel(TINY_LLAMA, 7);
    const weights = src.namedWeights();
    const linears = new Map<string, LinearModule>();
    for (const [name, t] of [...weights]) {
      const module = name.replace(/\.weight$/, '');
      if (!/_proj$/.test(module)) continue;
      linears.set(module, quantizeLinear(module, t as tf.Tensor2D, { scheme: 'nf4', doubleQuant: true }));
      weights.delete(name);
      t.dispose();
    }
    const bytesBefore = tf.memory().numBytes;
    const built = new CausalLM(TINY_LLAMA, weights, { linears });
    const denseBytes = [...weights.values()].reduce((a, t) => a + 4 * t.size, 0);
    expect(tf.memory().numBytes - bytesBefore).toBe(denseBytes + ropeBytes(built)); // no linear weight in tf memory
    quantizeModelLinears(src, { scheme: 'nf4', doubleQuant: true });
    expect(maxAbsDiff(logits(built), logits(src))).toBe(0);
    expect(() => new CausalLM(TINY_LLAMA, weights, { linears: new Map([['model.norm', linears.values().next().value!]]) })).toThrow(
      "linears: 'model.norm' is not a linear of a llama model with this config",
    );
    const extra = new Map(weights);
    const dup = tf.zeros([16, 16]);
    extra.set('model.layers.0.self_attn.q_proj.weight', dup);
    expect(() => new CausalLM(TINY_LLAMA, extra, { linears })).toThrow(/'model\.layers\.0\.self_attn\.q_proj\.weight' is given both/);
    tf.dispose([dup, ...weights.values()]);
    built.dispose();
    src.dispose();
  });

  it('refuses to release a base into itself', () => {
    const m = tinyModel(TINY_LLAMA, 1);
    const name = 'model.layers.0.mlp.up_proj';
    expect(() => m.setLinear(name, m.baseLinear(name)!, { releaseBase: true })).toThrow(/releaseBase needs a module other than the base itself/);
    m.dispose();
  });
});

function tinyModelKeys(c: ModelConfig): number {
  return 3 + c.numHiddenLayers * (2 + 7 + (c.attentionBias ? 3 : 0)) - (c.tieWordEmbeddings ? 1 : 0);
}

function ropeBytes(m: CausalLM): number {
  const r = (m as unknown as { rope: { cos: tf.Tensor; sin: tf.Tensor } }).rope;
  return 4 * (r.cos.size + r.sin.size);
}
