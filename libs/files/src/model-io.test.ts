// loadModel / saveModel: HF folders with random weights (Llama F32, sharded BF16, Qwen2-style F16)
// load into the CausalLM, run a forward pass, and the model's own weights come back exactly.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@tuneloop/engine';
import { charTokenizer, toFloat32, type DType } from '@tuneloop/model';
import { loadHfFolder } from './load-hf-folder.ts';
import { loadModel, saveModel } from './model-io.ts';
import { saveHfFolder } from './save-hf-folder.ts';
import { randomWeights, tinyConfig } from './test-fixtures.ts';

let root: string;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  root = await mkdtemp(join(tmpdir(), 'tuneloop-model-io-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const cases: [string, Parameters<typeof tinyConfig>[0], DType, number | undefined][] = [
  ['plain Llama F32', {}, 'F32', undefined],
  ['sharded Llama BF16', {}, 'BF16', 3000],
  ['Qwen2-style F16 (qkv bias, tied)', { modelType: 'qwen2', attentionBias: true, tieWordEmbeddings: true }, 'F16', undefined],
];

describe('loadModel / saveModel', () => {
  for (const [label, over, dtype, maxShardBytes] of cases) {
    it(`${label}: loads into the transformer, forward runs, weights survive a save in the stored dtype`, async () => {
      const config = tinyConfig(over);
      const weights = randomWeights(config, dtype, 5);
      const dir = join(root, label.replace(/\W+/g, '-'));
      await saveHfFolder(dir, { config, weights, tokenizer: charTokenizer('0123456789+= abc\n'), maxShardBytes });
      const before = tf.memory().numTensors;
      const loaded = await loadModel(dir);
      const named = loaded.model.namedWeights();
      for (const [name, t] of weights) {
        expect([...(named.get(name)!.dataSync() as Float32Array)], name).toEqual([...toFloat32(t)]);
      }
      tf.dispose([...named.values()]);
      const logits = tf.tidy(() => loaded.model.forward({ inputIds: [loaded.tokenizer!.encode('12+3=15')] }));
      expect(logits.shape).toEqual([1, 7, config.vocabSize]);
      expect(logits.dataSync().every(Number.isFinite)).toBe(true);
      logits.dispose();

      const out = join(root, `${label.replace(/\W+/g, '-')}-saved`);
      await saveModel(out, loaded.model, { tokenizer: loaded.tokenizer, dtype: loaded.folder.dtypes, maxShardBytes });
      const back = await loadHfFolder(out);
      for (const [name, t] of weights) {
        const u = back.weights.get(name)!;
        expect([name, u.dtype, Buffer.from(u.data).equals(Buffer.from(t.data))]).toEqual([name, dtype, true]);
      }
      loaded.model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('refuses a tokenizer with more ids than the embedding has rows', async () => {
    const config = tinyConfig({ vocabSize: 5 });
    const dir = join(root, 'small-vocab');
    await saveHfFolder(dir, { config, weights: randomWeights(config, 'F32'), tokenizer: charTokenizer('abc') });
    await expect(loadModel(dir)).rejects.toThrow(/tokenizer.json has ids up to 6 but config.json vocab_size is 5/);
  });

  it('accepts a stored lm_head on a tied model only when it equals the embedding', async () => {
    const config = tinyConfig({ tieWordEmbeddings: true });
    const weights = randomWeights(config, 'F32', 2);
    const embed = weights.get('model.embed_tokens.weight')!;
    const dir = join(root, 'tied-with-head');
    await saveHfFolder(dir, { config, weights: new Map([...weights, ['lm_head.weight', { ...embed, data: embed.data.slice() }]]) });
    const loaded = await loadModel(dir);
    loaded.model.dispose();
    const other = randomWeights(tinyConfig({ tieWordEmbeddings: false }), 'F32', 9).get('lm_head.weight')!;
    await saveHfFolder(dir, { config, weights: new Map([...weights, ['lm_head.weight', other]]) });
    await expect(loadModel(dir)).rejects.toThrow(/lm_head.weight differs from model.embed_tokens.weight/);
  });
});
