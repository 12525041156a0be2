// PPO with a value head: bad input names the field; on a tiny seeded model a score that rewards bare-number
// answers rises, every TRL metric is finite, the adaptive KL coefficient moves, and no tensor leaks per batch;
// CI version of the issue-7 PPO target: with a reward model trained in the test (Bradley-Terry), the mean RM
// score of greedy completions on held-out prompts rises while the KL to the reference stays under its target.
import * as tf from '@tensorflow/tfjs-core';
import { createRng, initBackend } from '@tuneloop/engine';
import { ARITH_SMALL, arithModelConfig, arithTokenizer, CausalLM, generate, initWeights, RewardModel, type Tokenizer } from '@tuneloop/model';
import { heldOutAdditions, takeArith } from '@tuneloop/datasets';
import { evaluateRewardModel, scoreResponses, trainRewardModel } from '@tuneloop/objectives';
import { encodePrompts } from './prompts.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { ppoOptimizer, ppoValueHead, trainPpo } from './ppo-trainer.ts';

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

/** Full fine-tuning: the reference is a frozen copy of the starting weights. */
function frozenCopy(model: CausalLM): CausalLM {
  const w = model.namedWeights();
  const m = new CausalLM(model.config, w);
  tf.dispose([...w.values()]);
  m.setTrainable(false);
  return m;
}

const digits = (_p: string[], cs: string[]) => cs.map((c) => (/^[0-9]+$/.test(c) ? 1 : 0));

describe('PPO', () => {
  it('names the bad field', async () => {
    const model = tinyModel(1);
    const reference = frozenCopy(model);
    const base = { model, reference, variables: model.trainableVariables(), tokenizer: tok, prompts: [{ prompt: '1+1=' }], score: digits };
    await expect(trainPpo({ ...base, config: { steps: 0 } })).rejects.toThrow(/^steps: must be an integer >= 1, got 0$/);
    // A policy without adapters would be its own reference (KL 0): a frozen copy is required.
    await expect(trainPpo({ ...base, reference: undefined, config: { steps: 1 } })).rejects.toThrow(/^reference: required \(the per-token KL penalty is to the reference\): the policy has no adapters/);
    await expect(trainPpo({ ...base, config: { steps: 1, klTarget: -1 } })).rejects.toThrow(/^klTarget: must be > 0, got -1$/);
    await expect(trainPpo({ ...base, prompts: [{ prompt: 'x'.repeat(60) }], config: { steps: 1 } })).rejects.toThrow(/^prompts\[0\]: prompt of 61 tokens/);
    model.dispose();
    reference.dispose();
  });

  it('raises the mean score with clipped policy and value losses; adaptive KL coefficient; no tensor leak', async () => {
    const model = tinyModel(2);
    const reference = frozenCopy(model);
    const prompts = takeArith({ seed: 3, textFraction: 0 }, 64).map((e) => ({ prompt: e.prompt }));
    const counts: number[] = [];
    const { history, valueHead } = await trainPpo({
      model, reference, variables: model.trainableVariables(), tokenizer: tok, prompts, score: digits,
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
    expect(history.some((h) => h.metrics.kl > 0)).toBe(true);
    valueHead.dispose();
    model.dispose();
    reference.dispose();
  });

  it('resumes exactly: 3 batches, a checkpoint (weights, value head, optimizer, KL coefficient), 3 more == 6 uninterrupted', async () => {
    const prompts = takeArith({ seed: 3, textFraction: 0 }, 40).map((e) => ({ prompt: e.prompt }));
    const config = { steps: 6, promptsPerStep: 8, ppoEpochs: 2, lr: 1e-2, maxNewTokens: 3, klCoef: 0.05, klTarget: 1, klHorizon: 10, seed: 4 };
    const setup = () => {
      const model = tinyModel(5);
      const reference = frozenCopy(model);
      const vars = model.trainableVariables();
      const valueHead = ppoValueHead(model, config.seed);
      // stable names, as a job's checkpoint keys them
      const named = new Map([...vars.map((v, i) => [`w${i}`, v] as const), ['value_head', valueHead.head as tf.Variable] as const]);
      return { model, reference, vars, valueHead, named, optimizer: ppoOptimizer(vars, valueHead, config) };
    };
    const snapshot = (named: Map<string, tf.Variable>) => new Map([...named].map(([k, v]) => [k, v.dataSync().slice()]));
    const a = setup();
    const full = await trainPpo({ model: a.model, reference: a.reference, variables: a.vars, tokenizer: tok, prompts, score: digits, config, valueHead: a.valueHead, optimizer: a.optimizer });
    const b = setup();
    const part = await trainPpo({ model: b.model, reference: b.reference, variables: b.vars, tokenizer: tok, prompts, score: digits, config, valueHead: b.valueHead, optimizer: b.optimizer, onStep: (m) => m.step < 2 });
    const ck = { weights: snapshot(b.named), optimizer: b.optimizer.getState(b.named), klCoef: part.history.at(-1)!.nextKlCoef };
    const c = setup();
    for (const [k, v] of c.named) v.assign(tf.tensor(ck.weights.get(k)!, v.shape));
    c.optimizer.setState(c.named, ck.optimizer);
    const rest = await trainPpo({ model: c.model, reference: c.reference, variables: c.vars, tokenizer: tok, prompts, score: digits, config, valueHead: c.valueHead, optimizer: c.optimizer, startStep: 3, klCoef: ck.klCoef });
    expect(rest.history.map((h) => h.step)).toEqual([3, 4, 5]);
    expect(full.history.at(-1)!.metrics.kl_coef).not.toBe(0.05); // the adaptive coefficient moved: its state matters
    for (let i = 0; i < 3; i++) {
      expect(rest.history[i].metrics.score).toBe(full.history[3 + i].metrics.score);
      expect(rest.history[i].metrics.kl_coef).toBeCloseTo(full.history[3 + i].metrics.kl_coef, 12);
      expect(rest.history[i].metrics.loss).toBeCloseTo(full.history[3 + i].metrics.loss, 5);
    }
    const want = snapshot(a.named);
    const got = snapshot(c.named);
    for (const [k, v] of want) expect(got.get(k)).toEqual(v);
    for (const x of [a, b, c]) {
      x.optimizer.dispose();
      x.valueHead.dispose();
      x.model.dispose();
      x.reference.dispose();
    }
  });

  it('with a trained reward model: held-out RM score of greedy completions rises, KL per sequence under its target', async () => {
    // Reward model (issue 6's trainer): a tiny trunk + head, Bradley-Terry on pairs "the sum" over "letters".
    const rng = createRng(4);
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    const junk = () => Array.from({ length: 1 + rng.int(3) }, () => letters[rng.int(letters.length)]).join('');
    const pairs = takeArith({ seed: 5, textFraction: 0 }, 300).map((e) => ({ prompt: e.prompt, chosen: e.completion, rejected: junk() }));
    const rmTrunk = tinyModel(3);
    const rm = new RewardModel(rmTrunk, { seed: 3 });
    await trainRewardModel(rm, tok, pairs.slice(0, 240), { steps: 40, batchSize: 16, lr: 1e-2, seed: 1 });
    expect(evaluateRewardModel(rm, tok, pairs.slice(240)).accuracy).toBeGreaterThanOrEqual(0.9);
    const score = (ps: string[], cs: string[]) => ps.map((p, i) => scoreResponses(rm, tok, p, [cs[i].trim() === '' ? '?' : cs[i]])[0]);

    const model = tinyModel(2);
    const reference = frozenCopy(model);
    const held = heldOutAdditions().slice(0, 48).map((e) => ({ prompt: e.prompt }));
    const heldScore = () => {
      const ids = encodePrompts(tok, model.config, held, 3);
      const gens = generate(model, ids, { temperature: 0, maxNewTokens: 3, eosTokenIds: [tok.eosTokenId!], decode: (t) => tok.decode(t, { skipSpecialTokens: true }) });
      const s = score(held.map((p) => p.prompt), gens.map((g) => g.text));
      return s.reduce((a, b) => a + b, 0) / s.length;
    };
    const before = heldScore();
    const klTarget = 3; // summed KL per sequence (3 new tokens), mean of the last 4 batches; measured 1.4
    const { history, valueHead } = await trainPpo({
      model, reference, variables: model.trainableVariables(), tokenizer: tok, prompts: takeArith({ seed: 3, textFraction: 0 }, 64).map((e) => ({ prompt: e.prompt })), score,
      config: { steps: 12, promptsPerStep: 16, ppoEpochs: 4, lr: 5e-3, maxNewTokens: 3, klCoef: 0.3, klTarget, klHorizon: 100, seed: 1 },
    });
    const after = heldScore();
    const lastKl = history.slice(-4).reduce((a, h) => a + h.metrics.kl, 0) / 4;
    expect(after).toBeGreaterThan(before + 1); // measured -0.68 -> 8.14
    expect(lastKl).toBeLessThan(klTarget);
    valueHead.dispose();
    model.dispose();
    reference.dispose();
    rm.dispose();
    rmTrunk.dispose();
  });
});
