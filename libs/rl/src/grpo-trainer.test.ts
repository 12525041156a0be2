// GRPO trainer: bad input names the field (group size, verifier, JSON Schema, context length), group layout
// and log-prob consistency of the sampler, per-step metrics, no tensor leak, and a CI-sized learning check:
// a tiny seeded model learns to answer arithmetic prompts with a bare number (format verifier) and greedy
// pass@1 rises on held-out prompts. The numeric-verifier run on the pretrained arith model is bench/grpo.ts.
import * as tf from '@tensorflow/tfjs-core';
import { createRng, initBackend } from '@tuneloop/engine';
import { ARITH_SMALL, arithModelConfig, arithTokenizer, buildLogprobBatch, CausalLM, initWeights, sequenceLogprobs, type Tokenizer } from '@tuneloop/model';
import { heldOutAdditions, takeArith } from '@tuneloop/datasets';
import { createVerifier } from '@tuneloop/verifiers';
import { beforeAll, describe, expect, it } from 'vitest';
import { greedyPassAt1 } from './evaluate.ts';
import { prepareGrpo, trainGrpo, type GrpoRun } from './grpo-trainer.ts';
import { PolicyOptimizer } from './optimizer.ts';
import { encodePrompts } from './prompts.ts';
import { sampleGroups, scoreRollouts } from './sample-groups.ts';

let tok: Tokenizer;
beforeAll(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  tok = arithTokenizer();
});

function tinyModel(seed = 1): CausalLM {
  const cfg = arithModelConfig({ ...ARITH_SMALL, hiddenSize: 32, numLayers: 1, intermediateSize: 64 }, tok);
  const w = initWeights(cfg, createRng(seed));
  const m = new CausalLM(cfg, w);
  tf.dispose([...w.values()]);
  return m;
}

const toPrompt = (e: { prompt: string; completion: string }) => ({ prompt: e.prompt, reference: e.completion });

describe('GRPO bad input', () => {
  type Over = Omit<Partial<GrpoRun>, 'config'> & { config?: Partial<GrpoRun['config']> };
  const run = (over: Over): GrpoRun => ({
    model: undefined as unknown as CausalLM,
    variables: [],
    tokenizer: tok,
    prompts: [{ prompt: '12+34=', reference: '46' }],
    verifier: 'numeric',
    ...over,
    config: { steps: 1, ...over.config },
  });
  it('names the field', () => {
    const model = tinyModel();
    const cases: [Over, RegExp][] = [
      [{ config: { groupSize: 1 } }, /^groupSize: must be an integer >= 2, got 1$/],
      [{ config: { steps: 0 } }, /^steps: must be an integer >= 1/],
      [{ config: { warmupSteps: -2 } }, /^warmupSteps: must be an integer >= 0, got -2$/],
      // full weights, no adapters, no reference: the KL term would be to the policy itself
      [{ config: { beta: 0.1 } }, /^reference: required \(beta 0\.1 > 0 adds a KL term to the reference\): the policy has no adapters/],
      [{ config: { lossType: 'ppo' as never } }, /^lossType: must be one of 'grpo', 'bnpo', 'dr_grpo', 'dapo', got "ppo"/],
      [{ verifier: 'nope' }, /^verifier\.type: unknown verifier "nope"/],
      [{ verifier: { type: 'json_schema', schema: { type: 'no-such-type' } } }, /^verifier\.schema: is not a valid JSON Schema/],
      [{ prompts: [{ prompt: '1+1=' }, { prompt: 'x'.repeat(60) }], config: { maxNewTokens: 8 } }, /^prompts\[1\]: prompt of 61 tokens \+ maxNewTokens 8 exceeds the context length 64$/],
      [{ prompts: [] }, /^prompts: must hold at least 1 prompt$/],
    ];
    for (const [over, re] of cases) {
      let err: unknown;
      try {
        prepareGrpo(run({ ...over, model }));
      } catch (e) {
        err = e;
      }
      expect((err as Error)?.message, JSON.stringify(over)).toMatch(re);
      expect((err as { code?: string }).code).toBe('INVALID_ARGUMENT');
    }
    model.dispose();
  });
});

describe('group sampling', () => {
  it('lays out G completions per prompt consecutively, seeded, with log-probs equal to a forward pass', () => {
    const model = tinyModel();
    const ids = encodePrompts(tok, model.config, [{ prompt: '12+34=' }, { prompt: 'add 5 and 7: ' }], 4);
    const a = sampleGroups(model, tok, ids, { groupSize: 3, maxNewTokens: 4, seed: 5 });
    const b = sampleGroups(model, tok, ids, { groupSize: 3, maxNewTokens: 4, seed: 5 });
    expect(a.map((r) => r.promptIndex)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(a.map((r) => r.tokens)).toEqual(b.map((r) => r.tokens));
    expect(new Set(a.map((r) => r.tokens.join(','))).size).toBeGreaterThan(1);
    const batch = buildLogprobBatch(a.map((r) => r.promptIds), a.map((r) => r.tokens), tok.padTokenId ?? 0);
    const { logprobs, mask } = sequenceLogprobs(model, batch);
    const lp = logprobs.arraySync();
    const m = mask.arraySync();
    a.forEach((r, i) => {
      const fwd = lp[i].filter((_, j) => m[i][j] === 1);
      r.logprobs.forEach((x, j) => expect(fwd[j]).toBeCloseTo(x, 4));
    });
    tf.dispose([logprobs, mask]);
    model.dispose();
  });
});

describe('GRPO learning (CI size)', () => {
  it('raises held-out greedy pass@1 of a bare-number answer format by >= 15 points, logs TRL metrics, leaks no tensor', async () => {
    const policy = tinyModel(2);
    const reference = tinyModel(2); // full fine-tuning: the frozen reference is a second copy
    reference.setTrainable(false);
    const verifier = createVerifier({ type: 'regex', pattern: '^[0-9]+$', fullMatch: true });
    const train = takeArith({ seed: 7, textFraction: 0 }, 200).map(toPrompt);
    const held = heldOutAdditions().slice(0, 60).map(toPrompt);
    const before = await greedyPassAt1(policy, tok, held, verifier, { maxNewTokens: 3 });
    const counts: number[] = [];
    const hist = await trainGrpo({
      model: policy, reference, variables: policy.trainableVariables(), tokenizer: tok, prompts: train, verifier,
      config: { steps: 14, promptsPerStep: 4, groupSize: 8, maxNewTokens: 3, lr: 1e-2, numIterations: 2, beta: 0.01, seed: 1 },
      onStep: () => {
        counts.push(tf.memory().numTensors);
      },
    });
    expect(counts.at(-1)).toBe(counts[1]); // no growth across generation batches (after first-use allocations)
    expect(hist).toHaveLength(14);
    for (const k of ['reward', 'reward_std', 'pass_rate', 'kl', 'clip_ratio', 'loss', 'grad_norm', 'completion_length']) {
      expect(Number.isFinite(hist[0].metrics[k as keyof (typeof hist)[0]['metrics']])).toBe(true);
    }
    expect(hist.some((h) => h.metrics.kl > 0)).toBe(true);
    const after = await greedyPassAt1(policy, tok, held, verifier, { maxNewTokens: 3 });
    expect(after.passAt1).toBeGreaterThanOrEqual(before.passAt1 + 0.15);
    expect(hist.at(-1)!.metrics.reward).toBeGreaterThan(hist[0].metrics.reward);
    policy.dispose();
    reference.dispose();
  });
});

describe('GRPO with a sampler of the caller (the rollout service)', () => {
  it('gets each batch\'s prompts, ids and seeded options; its rollouts and rewards train exactly as the built-in sampling does', async () => {
    const prompts = Array.from({ length: 8 }, (_, k) => ({ prompt: `${k}+${(k * 7) % 10}=`, reference: String(k + ((k * 7) % 10)) }));
    const verifier = createVerifier({ type: 'regex', pattern: '[0-9]' });
    const config = { steps: 3, promptsPerStep: 2, groupSize: 4, maxNewTokens: 3, lr: 1e-2, seed: 4 };
    const a = tinyModel(5);
    const plain = await trainGrpo({ model: a, variables: a.trainableVariables(), tokenizer: tok, prompts, verifier, config });
    const b = tinyModel(5);
    const calls: { step: number; prompts: string[]; seed: number }[] = [];
    const viaSampler = await trainGrpo({
      model: b, variables: b.trainableVariables(), tokenizer: tok, prompts, verifier, config,
      sample: async ({ step, prompts: ps, promptIds, options }) => {
        calls.push({ step, prompts: ps.map((p) => p.prompt), seed: options.seed });
        expect(promptIds).toEqual(encodePrompts(tok, b.config, ps, 3));
        const rollouts = sampleGroups(b, tok, promptIds, options); // what a remote worker holding these weights samples
        return { rollouts, rewards: await scoreRollouts(verifier, ps, rollouts, options.groupSize) };
      },
    });
    expect(calls.map((c) => c.step)).toEqual([0, 1, 2]);
    expect(new Set(calls.map((c) => c.seed)).size).toBe(3);
    expect(viaSampler.map((h) => [h.metrics.reward, h.metrics.loss])).toEqual(plain.map((h) => [h.metrics.reward, h.metrics.loss]));
    const bad = tinyModel(5);
    await expect(trainGrpo({ model: bad, variables: bad.trainableVariables(), tokenizer: tok, prompts, verifier, config, sample: async () => ({ rollouts: [] }) }))
      .rejects.toThrow('sampler returned 0 rollouts, expected 2 prompts x 4');
    for (const m of [a, b, bad]) m.dispose();
  });
});

describe('GRPO resume', () => {
  it('continues exactly: 2 batches, a checkpoint (weights + optimizer state), 2 more == 4 uninterrupted', async () => {
    const prompts = Array.from({ length: 12 }, (_, k) => ({ prompt: `${k % 10}+${(k * 3) % 10}=`, reference: String((k % 10) + ((k * 3) % 10)) }));
    const verifier = { type: 'regex', pattern: '[0-9]' }; // a random model's samples differ on it: every batch has signal
    const config = { steps: 4, promptsPerStep: 3, groupSize: 4, maxNewTokens: 3, lr: 1e-2, warmupSteps: 3, seed: 5 };
    // full fine-tuning (beta 0: no reference needed); stable names for the checkpoint, as a job's named weights
    const policy = () => {
      const m = tinyModel(3);
      return { m, named: new Map(m.trainableVariables().map((v, i) => [`w${i}`, v])) };
    };
    const snapshot = (named: Map<string, tf.Variable>) => new Map([...named].map(([k, v]) => [k, v.dataSync().slice()]));

    const a = policy();
    const full = await trainGrpo({ model: a.m, variables: [...a.named.values()], tokenizer: tok, prompts, verifier, config });
    const want = snapshot(a.named);

    const b = policy();
    const optB = new PolicyOptimizer([...b.named.values()], { lr: config.lr, clipNorm: 1, weightDecay: 0, warmupSteps: config.warmupSteps });
    await trainGrpo({ model: b.m, variables: [...b.named.values()], tokenizer: tok, prompts, verifier, config, optimizer: optB, onStep: (m) => m.step < 1 });
    const weights = snapshot(b.named);
    const state = optB.getState(b.named);
    optB.dispose();

    const c = policy(); // a fresh process: new model and optimizer, restored from the "checkpoint"
    for (const [k, v] of c.named) v.assign(tf.tensor(weights.get(k)!, v.shape));
    const optC = new PolicyOptimizer([...c.named.values()], { lr: config.lr, clipNorm: 1, weightDecay: 0, warmupSteps: config.warmupSteps });
    optC.setState(c.named, state);
    const rest = await trainGrpo({ model: c.m, variables: [...c.named.values()], tokenizer: tok, prompts, verifier, config, optimizer: optC, startStep: 2 });
    optC.dispose();
    expect(rest.map((h) => h.step)).toEqual([2, 3]);
    expect(rest.map((h) => h.metrics.reward)).toEqual(full.slice(2).map((h) => h.metrics.reward));
    expect(full.some((h) => h.metrics.loss !== 0)).toBe(true); // the run did update the weights
    for (const [k, v] of want) expect(snapshot(c.named).get(k)).toEqual(v);
    await expect(trainGrpo({ model: c.m, variables: [...c.named.values()], tokenizer: tok, prompts, verifier, config, startStep: 5 })).rejects.toThrow('startStep: must be an integer in 0..4, got 5');
    for (const p of [a, b, c]) p.m.dispose();
  });
});
