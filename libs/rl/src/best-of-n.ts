// Best-of-N rejection sampling (RSO-style; Llama 2 "rejection sampling fine-tuning", Touvron et al. 2023
// Sec. 3.2.3): sample N completions per prompt, keep the best by verifier score among those that finished (ended
// with EOS, non-empty; optionally only when it reaches a threshold), then supervised fine-tuning (token-mean NLL)
// of the policy on the winners.
import { batchSampler, createRng } from '@tuneloop/engine';
import { buildLogprobBatch, sequenceLogprobs, type CausalLM, type Tokenizer } from '@tuneloop/model';
import { sftLoss } from '@tuneloop/objectives';
import { createVerifier, type Verifier, type VerifierSpec } from '@tuneloop/verifiers';
import { RlInputError } from './errors.ts';
import { PolicyOptimizer } from './optimizer.ts';
import { encodePrompts, type RlPrompt } from './prompts.ts';
import { sampleGroups, scoreRollouts } from './sample-groups.ts';

export interface BestOfNConfig {
  n: number; // samples per prompt, >= 1
  threshold?: number; // keep a winner only if its score >= threshold; default: keep every prompt's best
  maxNewTokens?: number; // default 8
  temperature?: number; // default 1
  sampleBatch?: number; // prompts per generation call; default 16
  sftSteps: number; // optimizer steps on the winners
  batchSize?: number; // winners per step; default 16
  lr?: number; // default 2e-3
  seed?: number; // default 0
}

export interface BestOfNRun {
  model: CausalLM;
  variables: import('@tensorflow/tfjs-core').Variable[];
  tokenizer: Tokenizer;
  prompts: RlPrompt[];
  verifier: Verifier | VerifierSpec;
  config: BestOfNConfig;
  onStep?: (m: { step: number; loss: number }) => void;
}

export interface BestOfNResult {
  kept: number; // prompts with a winner
  meanBestScore: number; // mean over prompts of the best score
  meanScore: number; // mean over all samples
  losses: number[]; // SFT loss per step
}

/** A completion that may win: it ended with EOS and has text before it. */
export function isCandidate(r: { finishReason: string; text: string }): boolean {
  return r.finishReason === 'eos' && r.text !== '';
}

export async function bestOfN(run: BestOfNRun): Promise<BestOfNResult> {
  const c = run.config;
  if (!Number.isInteger(c.n) || c.n < 1) throw new RlInputError('n', `must be an integer >= 1, got ${c.n}`);
  if (!Number.isInteger(c.sftSteps) || c.sftSteps < 1) throw new RlInputError('sftSteps', `must be an integer >= 1, got ${c.sftSteps}`);
  if (c.threshold !== undefined && !Number.isFinite(c.threshold)) throw new RlInputError('threshold', `must be a finite number, got ${c.threshold}`);
  const v = run.verifier as Verifier;
  const verifier: Verifier = typeof v === 'object' && v !== null && typeof v.scoreGroup === 'function' ? v : createVerifier(run.verifier as VerifierSpec);
  const maxNew = c.maxNewTokens ?? 8;
  const tok = run.tokenizer;
  const ids = encodePrompts(tok, run.model.config, run.prompts, maxNew);
  const chunk = c.sampleBatch ?? 16;
  const winners: { prompt: number[]; completion: number[] }[] = [];
  let bestSum = 0;
  let allSum = 0;
  for (let i = 0; i < ids.length; i += chunk) {
    const part = run.prompts.slice(i, i + chunk);
    const rollouts = sampleGroups(run.model, tok, ids.slice(i, i + chunk), { groupSize: c.n, maxNewTokens: maxNew, temperature: c.temperature ?? 1, seed: (c.seed ?? 0) + i * c.n });
    const scores = await scoreRollouts(verifier, part, rollouts, c.n);
    for (let p = 0; p < part.length; p++) {
      let best = -1;
      let top = -Infinity;
      for (let k = p * c.n; k < (p + 1) * c.n; k++) {
        allSum += scores[k];
        top = Math.max(top, scores[k]);
        // the candidates: completions that ended with EOS and say something (a truncated one is not an answer)
        if (isCandidate(rollouts[k]) && (best < 0 || scores[k] > scores[best])) best = k;
      }
      bestSum += top;
      if (best >= 0 && (c.threshold === undefined || scores[best] >= c.threshold)) {
        winners.push({ prompt: rollouts[best].promptIds, completion: rollouts[best].tokens });
      }
    }
  }
  const result: BestOfNResult = { kept: winners.length, meanBestScore: bestSum / ids.length, meanScore: allSum / (ids.length * c.n), losses: [] };
  if (winners.length === 0) return result;
  const opt = new PolicyOptimizer(run.variables, { lr: c.lr ?? 2e-3, clipNorm: 1, weightDecay: 0 });
  const nextPick = batchSampler(createRng(c.seed ?? 0), winners.length, Math.min(c.batchSize ?? 16, winners.length));
  try {
    for (let step = 0; step < c.sftSteps; step++) {
      const pick = nextPick();
      const batch = buildLogprobBatch(pick.map((i) => winners[i].prompt), pick.map((i) => winners[i].completion), tok.padTokenId ?? 0);
      const r = opt.step(() => {
        const { logprobs, mask } = sequenceLogprobs(run.model, batch);
        return { loss: sftLoss({ logps: logprobs, mask }).loss, metrics: {} };
      });
      result.losses.push(r.loss);
      run.onStep?.({ step, loss: r.loss });
    }
  } finally {
    opt.dispose();
  }
  return result;
}
