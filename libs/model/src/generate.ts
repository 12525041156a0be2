// Batched autoregressive generation with a KV cache: prompts are left-padded, each sequence has its own
// seed, sampling settings apply per step, and generation stops on EOS ids, stop strings or max new tokens.
import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@tuneloop/engine';
import { eosIdsOf } from './config.ts';
import { KvCache } from './kv-cache.ts';
import { applyRepetitionPenalty, logSoftmaxAt, sampleToken, validateSampling, type SamplingOptions } from './sampling.ts';
import type { CausalLM } from './transformer.ts';

export type FinishReason = 'eos' | 'stop' | 'length';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens?: number; // default 32
  eosTokenIds?: number[]; // default: the config's eosTokenId
  stopStrings?: string[]; // needs `decode`; the text is cut before the stop string
  decode?: (ids: number[]) => string; // turns generated ids into text
  seed?: number | number[]; // one seed for all (sequence i uses seed + i) or one per sequence; default 0
  padTokenId?: number; // id used for left padding (masked out); default config pad, eos or 0
  useCache?: boolean; // default true; false recomputes the full sequence each step (for testing)
  onToken?: (ev: { sequence: number; token: number; logprob: number; step: number }) => void;
}

export interface Generation {
  tokens: number[]; // generated ids (including a final EOS, excluding anything after a stop)
  text: string; // decode(tokens) without EOS, cut at a stop string ('' without decode)
  logprobs: number[]; // log p(token) under the model (log_softmax of raw logits), one per token
  finishReason: FinishReason;
}

/** Generates a completion for every prompt (token ids). Sequences are independent of their batch mates. */
export function generate(model: CausalLM, prompts: number[][], opts: GenerateOptions = {}): Generation[] {
  validateSampling(opts);
  const maxNew = opts.maxNewTokens ?? 32;
  if (!Number.isInteger(maxNew) || maxNew < 1) throw new Error(`maxNewTokens: must be an integer >= 1, got ${maxNew}`);
  if (prompts.length === 0) return [];
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new Error(`prompts[${i}]: must hold at least 1 token`);
  });
  if (opts.stopStrings?.length && !opts.decode) throw new Error('stopStrings: need a decode function');
  const b = prompts.length;
  const seed0 = typeof opts.seed === 'number' ? opts.seed : 0;
  const seeds = Array.isArray(opts.seed) ? opts.seed : prompts.map((_, i) => seed0 + i);
  if (seeds.length !== b) throw new Error(`seed: expected ${b} seeds (one per prompt), got ${seeds.length}`);
  const rngs = seeds.map((s) => createRng(s));
  const eos = new Set(opts.eosTokenIds ?? eosIdsOf(model.config));
  const pad = opts.padTokenId ?? model.config.padTokenId ?? [...eos][0] ?? 0;
  const penalty = opts.repetitionPenalty ?? 1;

  const len = Math.max(...prompts.map((p) => p.length));
  const ids = prompts.map((p) => [...new Array(len - p.length).fill(pad), ...p]); // [B, T0] left-padded
  const mask = prompts.map((p) => [...new Array(len - p.length).fill(0), ...new Array(p.length).fill(1)]);
  const out: Generation[] = prompts.map(() => ({ tokens: [], text: '', logprobs: [], finishReason: 'length' }));
  const done = new Array(b).fill(false);
  const useCache = opts.useCache ?? true;
  const cache = useCache ? new KvCache() : undefined;
  try {
    let stepIds = ids;
    let stepMask = mask;
    for (let step = 0; step < maxNew; step++) {
      const logits = tf.tidy(() => model.forward({ inputIds: stepIds, attentionMask: stepMask }, { cache, lastOnly: true }));
      const all = logits.dataSync() as Float32Array; // [B, 1, V]
      logits.dispose();
      const v = model.config.vocabSize;
      const next: number[] = [];
      for (let i = 0; i < b; i++) {
        if (done[i]) {
          next.push(pad);
          continue;
        }
        const raw = all.subarray(i * v, (i + 1) * v);
        const work = Float32Array.from(raw);
        if (penalty !== 1) applyRepetitionPenalty(work, [...prompts[i], ...out[i].tokens], penalty);
        const tok = sampleToken(work, opts, rngs[i]);
        const lp = logSoftmaxAt(raw, tok);
        const g = out[i];
        g.tokens.push(tok);
        g.logprobs.push(lp);
        opts.onToken?.({ sequence: i, token: tok, logprob: lp, step });
        if (eos.has(tok)) {
          g.finishReason = 'eos';
          done[i] = true;
        } else if (opts.stopStrings?.length) {
          const text = opts.decode!(g.tokens);
          if (opts.stopStrings.some((s) => s.length > 0 && text.includes(s))) {
            g.finishReason = 'stop';
            done[i] = true;
          }
        }
        next.push(tok);
      }
      if (done.every(Boolean)) break;
      if (useCache) {
        stepIds = next.map((t) => [t]); // [B, 1]
        stepMask = next.map(() => [1]);
      } else {
        stepIds = stepIds.map((row, i) => [...row, next[i]]);
        stepMask = stepMask.map((row) => [...row, 1]);
      }
    }
  } finally {
    cache?.dispose();
  }
  for (const g of out) {
    if (!opts.decode) continue;
    const body = g.finishReason === 'eos' ? g.tokens.slice(0, -1) : g.tokens;
    let text = body.length > 0 ? opts.decode(body) : ''; // some tokenizers reject an empty id list
    if (g.finishReason === 'stop') {
      const cut = Math.min(...opts.stopStrings!.filter((s) => s && text.includes(s)).map((s) => text.indexOf(s)));
      text = text.slice(0, cut);
    }
    g.text = text;
  }
  return out;
}
