// The async engine against @tuneloop/model's generate(): the same tokens, log-probs, texts and finish reasons
// (greedy, sampled, stop strings, per-sequence settings), text deltas that add up to the final text without
// ever streaming part of a stop string, and a cancelled sequence that stops at the next step.
import * as tf from '@tensorflow/tfjs-core';
import { createRng, initBackend } from '@tuneloop/engine';
import { ARITH_SMALL, arithModelConfig, arithTokenizer, CausalLM, generate, initWeights } from '@tuneloop/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Batcher, generateSteps, type TokenEvent } from './engine.ts';

const tok = arithTokenizer();
let model: CausalLM;
const decode = (ids: number[]) => tok.decode(ids, { skipSpecialTokens: true });
const ids = (p: string) => [tok.bosTokenId!, ...tok.encode(p, { addSpecialTokens: false })];
const opts = { eosTokenIds: [tok.eosTokenId!], padTokenId: tok.padTokenId, decode };

beforeAll(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  const cfg = arithModelConfig({ ...ARITH_SMALL, hiddenSize: 32, numLayers: 1, intermediateSize: 64 }, tok);
  const w = initWeights(cfg, createRng(12));
  model = new CausalLM(cfg, w);
  tf.dispose([...w.values()]);
});
afterAll(() => model.dispose());

describe('generateSteps', () => {
  it('equals generate() with stop strings, and the text deltas add up to the text without a stop-string piece', async () => {
    const prompts = ['3+4=', '12+30=', '99+1='];
    const plain = generate(model, prompts.map(ids), { ...opts, eosTokenIds: [tok.eosTokenId!], maxNewTokens: 16, temperature: 1, seed: 7 });
    const stop = plain[0].text.slice(4, 6); // a string the first completion really produces
    expect(stop).toHaveLength(2);
    const want = generate(model, prompts.map(ids), { ...opts, maxNewTokens: 16, temperature: 1, seed: 7, stopStrings: [stop] });
    const events: TokenEvent[][] = prompts.map(() => []);
    const got = await generateSteps(model, prompts.map((p, i) => ({
      promptIds: ids(p), sampling: { temperature: 1 }, maxNewTokens: 16, seed: 7 + i, stopStrings: [stop], onToken: (e: TokenEvent) => events[i].push(e),
    })), opts);
    expect(got).toEqual(want.map((w) => ({ ...w, logprobs: expect.any(Array) })));
    got.forEach((g, i) => g.logprobs.forEach((x, j) => expect(x).toBeCloseTo(want[i].logprobs[j], 5)));
    expect(want[0].finishReason).toBe('stop');
    for (const [i, evs] of events.entries()) {
      expect(evs.map((e) => e.token)).toEqual(got[i].tokens);
      expect(evs.map((e) => e.textDelta).join('')).toBe(got[i].text);
      expect(evs.at(-1)!.finishReason).toBe(got[i].finishReason);
      expect(evs.slice(0, -1).every((e) => e.finishReason === undefined)).toBe(true);
    }
    expect(events[0].some((e) => e.textDelta.includes(stop))).toBe(false);
  });

  it('gives each sequence its own settings (greedy beside sampled, different lengths) as generate() does alone', async () => {
    const got = await generateSteps(model, [
      { promptIds: ids('5+5='), sampling: { temperature: 0 }, maxNewTokens: 5, seed: 0 },
      { promptIds: ids('60+7='), sampling: { temperature: 0.8, topK: 5 }, maxNewTokens: 12, seed: 3 },
    ], opts);
    const a = generate(model, [ids('5+5=')], { ...opts, temperature: 0, maxNewTokens: 5, seed: 0 });
    const b = generate(model, [ids('60+7=')], { ...opts, temperature: 0.8, topK: 5, maxNewTokens: 12, seed: 3 });
    expect(got.map((g) => g.tokens)).toEqual([a[0].tokens, b[0].tokens]);
  });

  it('stops a cancelled sequence at the next step and lets the others finish', async () => {
    let n = 0;
    const got = await generateSteps(model, [
      { promptIds: ids('1+1='), sampling: { temperature: 1 }, maxNewTokens: 30, seed: 1, onToken: () => n++, cancelled: () => n >= 3 },
      { promptIds: ids('2+2='), sampling: { temperature: 1 }, maxNewTokens: 30, seed: 2 },
    ], { ...opts, eosTokenIds: [] });
    expect(got[0].tokens).toHaveLength(3);
    expect(got[1].tokens).toHaveLength(30);
  });
});

describe('Batcher', () => {
  it('merges submissions queued within the gather window into one call, up to maxSequences', async () => {
    const b = new Batcher({ maxSequences: 4, gatherMs: 20 });
    const seq = (p: string) => ({ promptIds: ids(p), sampling: { temperature: 0 }, maxNewTokens: 4, seed: 0 });
    const [r1, r2, r3] = await Promise.all([
      b.submit('m', model, opts, [seq('1+2='), seq('3+4=')]),
      b.submit('m', model, opts, [seq('5+6=')]),
      b.submit('m', model, opts, [seq('7+8='), seq('9+1=')]), // would make 5 > 4: next call
    ]);
    expect([r1.batchSequences, r2.batchSequences, r3.batchSequences]).toEqual([3, 3, 2]);
    const alone = generate(model, [ids('5+6=')], { ...opts, temperature: 0, maxNewTokens: 4 });
    expect(r2.generations[0].tokens).toEqual(alone[0].tokens);
  });
});
