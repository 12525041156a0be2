// Bad input fails before training with the field named; a non-finite loss stops training with the step and
// the reason and leaves the weights of the last good step; reference log-probs are computed once.
import * as tf from '@tensorflow/tfjs-core';
import { createRng, initBackend } from '@tuneloop/engine';
import { arithTokenizer, RewardModel, TINY_LLAMA, tinyModel, type Tokenizer } from '@tuneloop/model';
import { getPeftMethod } from '@tuneloop/peft';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodePairs } from './encode.ts';
import { resolvePreferenceConfig, type PreferenceTrainConfig } from './preference-config.ts';
import { preparePreferenceRun, trainPreference } from './preference-trainer.ts';
import { trainRewardModel } from './reward-trainer.ts';
import { referenceLogps, sequenceLogpSums } from './reference.ts';
import { TrainingDivergedError } from './step-loop.ts';

let tok: Tokenizer;
const CFG: PreferenceTrainConfig = { method: 'dpo', steps: 3, batchSize: 2, lr: 1e-2, seed: 1 };
const PAIRS = [
  { prompt: '1+2=', chosen: '3', rejected: '4 ok' },
  { prompt: '2+2=', chosen: '4', rejected: '5' },
  { prompt: '3+4=', chosen: '7', rejected: '17' },
];

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  tok = arithTokenizer();
});

/** A TINY_LLAMA-shaped model over the arith tokenizer's vocabulary. */
const model = () => tinyModel({ ...TINY_LLAMA, vocabSize: tok.vocabSize, padTokenId: 0 }, 7);

describe('bad input is refused before training', () => {
  it('names the pair and the problem', () => {
    expect(() => encodePairs(tok, [PAIRS[0], { prompt: '1+1=', chosen: '2', rejected: '2' }])).toThrow('pairs[1]: chosen and rejected are identical (a pair must differ)');
    expect(() => encodePairs(tok, [{ prompt: '1+1=', chosen: ' ', rejected: '2' }])).toThrow('pairs[0].chosen: must not be empty');
    expect(() => encodePairs(tok, [{ prompt: '1+1=', chosen: '2', rejected: '' }])).toThrow('pairs[0].rejected: must not be empty');
    expect(() => encodePairs(tok, [])).toThrow('pairs: must hold at least one pair, got 0');
    expect(() => encodePairs(tok, PAIRS, { maxLength: 6 })).toThrow('pairs[0]: is 10 tokens long, above maxLength 6');
    const conv = [{ chosen: [{ role: 'user', content: '1+1=' }, { role: 'assistant', content: '2' }], rejected: [{ role: 'user', content: '1+1=' }, { role: 'assistant', content: '2' }], prompt: [] }];
    expect(() => encodePairs(tok, conv)).toThrow('pairs[0]: chosen and rejected are identical');
  });
  it('checks the config fields', () => {
    expect(() => resolvePreferenceConfig({ ...CFG, lossType: 'xyz' as never })).toThrow("lossType: must be one of 'sigmoid', 'hinge', 'ipo', 'robust', got 'xyz'");
    expect(() => resolvePreferenceConfig({ ...CFG, method: 'ppo' as never })).toThrow("method: must be one of 'dpo', 'ipo', 'orpo', 'simpo', 'kto', got 'ppo'");
    expect(() => resolvePreferenceConfig({ ...CFG, beta: 0 })).toThrow('beta: must be > 0, got 0');
    expect(() => resolvePreferenceConfig({ ...CFG, beta: -0.5 })).toThrow('beta: must be > 0, got -0.5');
    expect(() => resolvePreferenceConfig({ ...CFG, method: 'orpo', lossType: 'ipo' })).toThrow("lossType: applies to method 'dpo' only");
    expect(() => resolvePreferenceConfig({ ...CFG, method: 'kto', batchSize: 1 })).toThrow('batchSize: must be an integer >= 2, got 1');
    expect(resolvePreferenceConfig({ ...CFG, method: 'ipo' })).toMatchObject({ lossType: 'ipo', beta: 0.1 });
    expect(resolvePreferenceConfig({ ...CFG, method: 'simpo' })).toMatchObject({ beta: 2, gamma: 1 });
  });
  it('throws from prepare, before a single step, and leaves the model untouched', async () => {
    const m = model();
    const vars = m.trainableVariables();
    const snap = vars.map((v) => v.dataSync().slice());
    await expect(trainPreference({ model: m, variables: vars, tokenizer: tok, pairs: [...PAIRS, { prompt: 'x', chosen: '1', rejected: '1' }], config: CFG })).rejects.toThrow('pairs[3]: chosen and rejected are identical');
    await expect(trainPreference({ model: m, variables: vars, tokenizer: tok, pairs: PAIRS, config: { ...CFG, beta: 0 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'beta' });
    vars.forEach((v, i) => expect(v.dataSync()).toEqual(snap[i]));
    m.dispose();
  });
});

describe('divergence', () => {
  it('stops on a NaN loss with the step and keeps the last good weights', async () => {
    const m = model();
    m.setTrainable(false);
    const rm = new RewardModel(m, { seed: 1 });
    let good: Float32Array | undefined;
    const norm = m.norms.get('model.norm')!;
    const err = await trainRewardModel(rm, tok, PAIRS, { steps: 5, batchSize: 2, lr: 1e-2, seed: 1 }, (s) => {
      if (s.step === 1) {
        good = rm.head.dataSync().slice() as Float32Array;
        norm.assign(tf.fill(norm.shape, NaN) as tf.Tensor1D); // a frozen weight goes bad: the next loss is NaN
      }
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect(err).toMatchObject({ step: 2, reason: 'loss is NaN', code: 'FAILED', message: 'training diverged at step 2: loss is NaN' });
    expect(rm.head.dataSync()).toEqual(good);
    rm.dispose();
    m.dispose();
  });
});

describe('reference log-probs', () => {
  it('are the base with the LoRA adapter disabled, computed once (one policy forward per step after that)', async () => {
    const m = model();
    const basePairs = encodePairs(tok, PAIRS);
    const baseRef = referenceLogps(m, basePairs, 0);
    m.setTrainable(false);
    const lora = getPeftMethod('lora');
    const pm = lora.apply(m, lora.parseConfig({ r: 4, lora_alpha: 8, target_modules: 'all-linear' }), { seed: 2 });
    const rng = createRng(4);
    for (const v of pm.trainableVariables()) v.assign(rng.normalTensor(v.shape, 0.3)); // a trained-looking adapter (B != 0)
    const policy = { chosen: sequenceLogpSums(m, basePairs.map((p) => p.prompt), basePairs.map((p) => p.chosen), 0) };
    expect(Math.abs(policy.chosen[0] - baseRef.chosen[0])).toBeGreaterThan(1e-4); // the adapter changes the policy
    let forwards = 0;
    const fwd = m.forward.bind(m);
    m.forward = (...a: Parameters<typeof m.forward>) => {
      forwards++;
      return fwd(...a);
    };
    const prepared = preparePreferenceRun({ model: m, tokenizer: tok, pairs: PAIRS, config: { ...CFG, steps: 4 } });
    expect(forwards).toBe(2); // chosen and rejected of the 3 pairs, one batch each
    Array.from(prepared.ref.a).forEach((v, i) => expect(v).toBeCloseTo(baseRef.chosen[i], 4));
    Array.from(prepared.ref.b).forEach((v, i) => expect(v).toBeCloseTo(baseRef.rejected[i], 4));
    forwards = 0;
    await trainPreference({ model: m, variables: pm.trainableVariables(), tokenizer: tok, pairs: PAIRS, config: { ...CFG, steps: 4 } }, prepared);
    expect(forwards).toBe(4);
    pm.unload();
    m.dispose();
  });
});
