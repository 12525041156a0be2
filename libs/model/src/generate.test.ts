// Generation tests on wasm and cpu: KV-cache greedy equals full recomputation, batching with left padding,
// log-probs agree with sequenceLogprobs, seeds, stop conditions, and no tensor growth over 50 generations.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { assertNoTensorGrowth, initBackend } from '@tuneloop/engine';
import { TINY_LLAMA, TINY_QWEN2, tinyModel } from './test-fixtures.ts';
import { generate } from './generate.ts';
import { buildLogprobBatch, sequenceLogprobs } from './logprobs.ts';

const decode = (ids: number[]) => ids.map((i) => String.fromCharCode(97 + i)).join('');

describe.each(['wasm', 'cpu'] as const)('generate on %s', (backend) => {
  beforeAll(async () => {
    await initBackend({ backend, quiet: true });
  });

  it('KV-cache greedy equals full-recomputation greedy, batched with prompts of different lengths', () => {
    for (const cfg of [TINY_LLAMA, TINY_QWEN2]) {
      const m = tinyModel(cfg, 5, 0.5);
      const prompts = [[1, 3, 5], [1, 7, 9, 11, 13, 4], [6]];
      const opts = { temperature: 0, maxNewTokens: 12, eosTokenIds: [] };
      const cached = generate(m, prompts, opts);
      const full = generate(m, prompts, { ...opts, useCache: false });
      expect(cached.map((g) => g.tokens)).toEqual(full.map((g) => g.tokens));
      for (let i = 0; i < 3; i++) {
        const alone = generate(m, [prompts[i]], opts)[0];
        expect(alone.tokens).toEqual(cached[i].tokens);
        for (let j = 0; j < alone.logprobs.length; j++) expect(cached[i].logprobs[j]).toBeCloseTo(alone.logprobs[j], 4);
      }
      expect(new Set(cached.map((g) => g.tokens.join(','))).size).toBeGreaterThan(1);
      m.dispose();
    }
  });

  it('reports per-token log-probs equal to sequenceLogprobs of the generated sequence', () => {
    const m = tinyModel(TINY_QWEN2, 9, 0.5);
    const prompts = [[1, 4], [1, 5, 6, 7]];
    const gens = generate(m, prompts, { temperature: 1, maxNewTokens: 6, seed: 3, eosTokenIds: [] });
    const r = sequenceLogprobs(m, buildLogprobBatch(prompts, gens.map((g) => g.tokens), 0));
    const lp = r.logprobs.arraySync();
    const mk = r.mask.arraySync();
    tf.dispose([r.logprobs, r.mask]);
    gens.forEach((g, i) => {
      const got = lp[i].filter((_, j) => mk[i][j] === 1);
      got.forEach((x, j) => expect(x).toBeCloseTo(g.logprobs[j], 4));
    });
    m.dispose();
  });

  it('samples reproducibly per sequence seed and honours EOS, stop strings and max tokens', () => {
    const m = tinyModel(TINY_LLAMA, 2, 0.5);
    const p = [[1, 3]];
    const a = generate(m, [p[0], p[0]], { temperature: 1.5, maxNewTokens: 10, seed: [7, 8], eosTokenIds: [] });
    const b = generate(m, p, { temperature: 1.5, maxNewTokens: 10, seed: [7], eosTokenIds: [] });
    expect(a[0].tokens).toEqual(b[0].tokens);
    expect(a[1].tokens).not.toEqual(a[0].tokens);
    expect(a[0].finishReason).toBe('length');
    expect(a[0].tokens.length).toBe(10);
    const first = b[0].tokens[2];
    const eos = generate(m, p, { temperature: 1.5, maxNewTokens: 10, seed: [7], eosTokenIds: [first] })[0];
    expect(eos.finishReason).toBe('eos');
    expect(eos.tokens[eos.tokens.length - 1]).toBe(first);
    expect(eos.tokens.length).toBeLessThanOrEqual(3);
    const strict = (ids: number[]) => {
      if (ids.length === 0) throw new Error('token_ids must be a non-empty array'); // as @huggingface/tokenizers
      return decode(ids);
    };
    const immediate = generate(m, p, { temperature: 1.5, maxNewTokens: 10, seed: [7], eosTokenIds: [b[0].tokens[0]], decode: strict })[0];
    expect(immediate).toMatchObject({ finishReason: 'eos', text: '', tokens: [b[0].tokens[0]] });
    const text = decode(b[0].tokens);
    const stop = text.slice(3, 5);
    const streamed: number[] = [];
    const s = generate(m, p, {
      temperature: 1.5,
      maxNewTokens: 10,
      seed: [7],
      eosTokenIds: [],
      decode,
      stopStrings: [stop],
      onToken: (ev) => streamed.push(ev.token),
    })[0];
    expect(s.finishReason).toBe('stop');
    expect(s.text).toBe(text.slice(0, text.indexOf(stop)));
    expect(streamed).toEqual(s.tokens);
    expect(() => generate(m, p, { maxNewTokens: 0 })).toThrow('maxNewTokens: must be an integer >= 1, got 0');
    expect(() => generate(m, p, { topP: 0 })).toThrow('topP: must be in (0, 1], got 0');
    m.dispose();
  });

  it('shows no tensor growth over 50 generations', async () => {
    const m = tinyModel(TINY_QWEN2);
    await assertNoTensorGrowth(
      (i) => generate(m, [[1, 2, 3], [4]], { maxNewTokens: 4, seed: i, topK: 5, topP: 0.9, minP: 0.05, repetitionPenalty: 1.2 }),
      50,
      'generate',
    );
    m.dispose();
  });
});
