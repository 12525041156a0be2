// PPO with a value head: bad input names the field; on a tiny seeded model a score that rewards bare-number
// answers rises, every TRL metric is finite, the adaptive KL coefficient moves, and no tensor leaks per batch.
import * as tf from '@tensorflow/tfjs-core';
import { createRng, initBackend } from '@tuneloop/engine';
import { ARITH_SMALL, arithModelConfig, arithTokenizer, CausalLM, initWeights, type Tokenizer } from '@tuneloop/model';
import { takeArith } from '@tuneloop/datasets';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainPpo } from './ppo-trainer.ts';

let tok: Tokenizer;
beforeAll(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  tok = arithTokenizer();
});

function tinyModel(seed: number): CausalLM {
  const cfg = arithModelConfig({ ...ARITH_SMALL, hiddenSize: 32, numLayers: 1, intermediateSize: 64 }, tok);
  const w = initWeights(cfg, createRng(seed));
  const m = new CausalLM(cfg, w);
  tf.dispose([...w.values()]);
  return m;
}

const digits = (_p: string[], cs: string[]) => cs.map((c) => (/^[0-9]+$/.test(c) ? 1 : 0));

describe('PPO', () => {
  it('names the bad field', async () => {
    const model = tinyModel(1);
    const base = { model, variables: model.trainableVariables(), tokenizer: tok, prompts: [{ prompt: '1+1=' }], score: digits };
    await expect(trainPpo({ ...base, config: { steps: 0 } })).rejects.toThrow(/^steps: must be an integer >= 1, got 0$/);
    await expect(trainPpo({ ...base, config: { steps: 1, klTarget: -1 } })).rejects.toThrow(/^klTarget: must be > 0, got -1$/);
    await expect(trainPpo({ ...base, prompts: [{ prompt: 'x'.repeat(60) }], config: { steps: 1 } })).rejects.toThrow(/^prompts\[0\]: prompt of 61 tokens/);
    model.dispose();
  });

  it('raises the mean score with clipped policy and value losses; adaptive KL coefficient; no tensor leak', async () => {
    const model = tinyModel(2);
    const prompts = takeArith({ seed: 3, textFraction: 0 }, 64).map((e) => ({ prompt: e.prompt }));
    const counts: number[] = [];
    const { history, valueHead } = await trainPpo({
      model, variables: model.trainableVariables(), tokenizer: tok, prompts, score: digits,
      config: { steps: 12, promptsPerStep: 16, ppoEpochs: 4, lr: 1e-2, maxNewTokens: 3, klCoef: 0.05, klTarget: 1, klHorizon: 100, seed: 1 },
      onStep: () => {
        counts.push(tf.memory().numTensors);
      },
    });
    expect(counts.at(-1)).toBe(counts[1]);
    for (const h of history) for (const v of Object.values(h.metrics)) expect(Number.isFinite(v)).toBe(true);
    const first = (history[0].metrics.score + history[1].metrics.score) / 2;
    const last = (history[10].metrics.score + history[11].metrics.score) / 2;
    expect(last).toBeGreaterThan(first + 0.3);
    expect(history.at(-1)!.metrics.kl_coef).not.toBe(0.05);
    valueHead.dispose();
    model.dispose();
  });
});
