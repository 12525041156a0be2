// Held-out evaluation of a policy with a verifier: greedy pass@1 (one greedy completion per prompt, a pass
// when its score >= passThreshold) and the mean score.
import { generate, type CausalLM, type Tokenizer } from '@tuneloop/model';
import type { Verifier } from '@tuneloop/verifiers';
import { encodePrompts, type RlPrompt } from './prompts.ts';

export interface PassAt1 {
  passAt1: number;
  meanScore: number;
  count: number;
}

export async function greedyPassAt1(
  model: CausalLM,
  tok: Tokenizer,
  prompts: readonly RlPrompt[],
  verifier: Verifier,
  opts: { maxNewTokens?: number; passThreshold?: number; batchSize?: number } = {},
): Promise<PassAt1> {
  const maxNew = opts.maxNewTokens ?? 8;
  const threshold = opts.passThreshold ?? 1;
  const ids = encodePrompts(tok, model.config, prompts, maxNew, 'evalPrompts');
  const batch = opts.batchSize ?? 64;
  let pass = 0;
  let total = 0;
  for (let i = 0; i < ids.length; i += batch) {
    const gens = generate(model, ids.slice(i, i + batch), {
      temperature: 0,
      maxNewTokens: maxNew,
      eosTokenIds: tok.eosTokenId !== undefined ? [tok.eosTokenId] : undefined,
      padTokenId: tok.padTokenId,
      decode: (t) => tok.decode(t, { skipSpecialTokens: true }),
    });
    for (let j = 0; j < gens.length; j++) {
      const p = prompts[i + j];
      const s = (await verifier.score(p.prompt, gens[j].text, p.reference)) ?? 0;
      total += s;
      if (s >= threshold) pass++;
    }
  }
  return { passAt1: pass / prompts.length, meanScore: total / prompts.length, count: prompts.length };
}
