// Best-of-N rejection sampling + SFT: bad input names the field; on a tiny seeded model the winners (bare
// numbers, format verifier) raise held-out greedy pass@1, and SFT steps leak no tensor.
import * as tf from '@tensorflow/tfjs-core';
import { createRng, initBackend } from '@tuneloop/engine';
import { ARITH_SMALL, arithModelConfig, arithTokenizer, CausalLM, initWeights, type Tokenizer } from '@tuneloop/model';
import { heldOutAdditions, takeArith } from '@tuneloop/datasets';
import { createVerifier } from '@tuneloop/verifiers';
import { beforeAll, describe, expect, it } from 'vitest';
import { bestOfN, isCandidate } from './best-of-n.ts';
import { greedyPassAt1 } from './evaluate.ts';

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

const toPrompt = (e: { prompt: string; completion: string }) => ({ prompt: e.prompt, reference: e.completion });

describe('best-of-N', () => {
  it('names the bad field', async () => {
    const model = tinyModel(1);
    const base = { model, variables: model.trainableVariables(), tokenizer: tok, prompts: [{ prompt: '1+1=' }], verifier: 'numeric' };
    await expect(bestOfN({ ...base, config: { n: 0, sftSteps: 1 } })).rejects.toThrow(/^n: must be an integer >= 1, got 0$/);
    await expect(bestOfN({ ...base, config: { n: 2, sftSteps: 0 } })).rejects.toThrow(/^sftSteps: must be an integer >= 1, got 0$/);
    await expect(bestOfN({ ...base, verifier: 'nope', config: { n: 2, sftSteps: 1 } })).rejects.toThrow(/^verifier\.type: unknown verifier/);
    model.dispose();
  });

  it('a winner is the best of the completions that finished: a truncated or empty one cannot win', () => {
    expect(isCandidate({ finishReason: 'eos', text: '42' })).toBe(true);
    expect(isCandidate({ finishReason: 'length', text: '42' })).toBe(false);
    expect(isCandidate({ finishReason: 'stop', text: '42' })).toBe(false);
    expect(isCandidate({ finishReason: 'eos', text: '' })).toBe(false);
  });

  it('keeps the best finished completion when a truncated one scores higher (score = length, a verifier that prefers long text)', async () => {
    const model = tinyModel(3);
    const verifier = { name: 'length', scoreGroup: async (_p: string, cs: string[]) => cs.map((c) => c.length) } as never;
    const prompts = takeArith({ seed: 9, textFraction: 0 }, 24).map(toPrompt);
    const r = await bestOfN({ model, variables: model.trainableVariables(), tokenizer: tok, prompts, verifier, config: { n: 6, maxNewTokens: 4, sftSteps: 1, seed: 2 } });
    // the longest completions are the truncated ones (4 tokens); mean best score is the best over all samples
    expect(r.meanBestScore).toBeGreaterThanOrEqual(3);
    // a prompt keeps a winner exactly when one of its samples finished with text: fewer than all prompts here
    expect(r.kept).toBeGreaterThan(0);
    expect(r.kept).toBeLessThan(prompts.length);
    model.dispose();
  });

  it('SFT on the best of 8 raises held-out greedy pass@1 (format verifier) by >= 15 points', async () => {
    const model = tinyModel(2);
    const verifier = createVerifier({ type: 'regex', pattern: '^[0-9]+$', fullMatch: true });
    const train = takeArith({ seed: 7, textFraction: 0 }, 64).map(toPrompt);
    const held = heldOutAdditions().slice(0, 60).map(toPrompt);
    const before = await greedyPassAt1(model, tok, held, verifier, { maxNewTokens: 3 });
    const counts: number[] = [];
    const r = await bestOfN({
      model, variables: model.trainableVariables(), tokenizer: tok, prompts: train, verifier,
      config: { n: 8, threshold: 1, maxNewTokens: 3, sftSteps: 20, batchSize: 16, lr: 1e-2, seed: 1 },
      onStep: () => {
        counts.push(tf.memory().numTensors);
      },
    });
    expect(r.kept).toBeGreaterThan(0);
    expect(r.meanBestScore).toBeGreaterThan(r.meanScore);
    expect(counts.at(-1)).toBe(counts[1]);
    expect(r.losses.at(-1)!).toBeLessThan(r.losses[0]);
    const after = await greedyPassAt1(model, tok, held, verifier, { maxNewTokens: 3 });
    expect(after.passAt1).toBeGreaterThanOrEqual(before.passAt1 + 0.15);
    model.dispose();
  });
});
