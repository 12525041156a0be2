// Group sampling for GRPO / best-of-N: G completions per prompt from the policy (KV-cache generation),
// laid out [P * G] with a prompt's completions consecutive, each with its own seed (seed + index).
import { generate, type CausalLM, type FinishReason, type Tokenizer } from '@tuneloop/model';
import type { Verifier } from '@tuneloop/verifiers';

export interface Rollout {
  promptIndex: number; // index into the prompts of the batch
  promptIds: number[];
  tokens: number[]; // generated ids, including a final EOS
  text: string; // decoded, without EOS
  logprobs: number[]; // per-token log-probs under the sampling policy (raw logits)
  finishReason: FinishReason;
}

export interface SampleOptions {
  groupSize: number;
  maxNewTokens: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed: number; // completion k of the batch uses seed + k
}

/** G samples for each encoded prompt, in one batched generation: [p0 s0, p0 s1, ..., p1 s0, ...]. */
export function sampleGroups(model: CausalLM, tok: Tokenizer, promptIds: number[][], o: SampleOptions): Rollout[] {
  const flat = promptIds.flatMap((ids) => Array.from({ length: o.groupSize }, () => ids));
  const gens = generate(model, flat, {
    temperature: o.temperature ?? 1,
    topK: o.topK ?? 0,
    topP: o.topP ?? 1,
    maxNewTokens: o.maxNewTokens,
    eosTokenIds: tok.eosTokenId !== undefined ? [tok.eosTokenId] : undefined,
    padTokenId: tok.padTokenId,
    decode: (ids) => tok.decode(ids, { skipSpecialTokens: true }),
    seed: o.seed,
  });
  return gens.map((g, k) => ({
    promptIndex: Math.floor(k / o.groupSize),
    promptIds: flat[k],
    tokens: g.tokens,
    text: g.text,
    logprobs: g.logprobs,
    finishReason: g.finishReason,
  }));
}

/** Rewards [P * G] of grouped rollouts; a verifier's null ("does not apply") counts as 0. */
export async function scoreRollouts(
  verifier: Verifier,
  prompts: readonly { prompt: string; reference?: string }[],
  rollouts: readonly Rollout[],
  groupSize: number,
): Promise<number[]> {
  const out: number[] = [];
  for (let p = 0; p < rollouts.length / groupSize; p++) {
    const group = rollouts.slice(p * groupSize, (p + 1) * groupSize);
    const src = prompts[group[0].promptIndex];
    const scores = await verifier.scoreGroup(src.prompt, group.map((r) => r.text), src.reference);
    for (const s of scores) out.push(s ?? 0);
  }
  return out;
}
