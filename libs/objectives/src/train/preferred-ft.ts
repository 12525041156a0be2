// "Preferred-FT": supervised fine-tuning on the chosen responses of preference pairs, the reference the DPO paper
// uses when no SFT model exists (Rafailov et al. 2023, "Direct Preference Optimization", Section 4, DPO outline:
// "when pi_SFT is not available, we initialize pi_ref by maximizing likelihood of preferred completions (x, y_w),
// pi_ref = argmax_pi E_{x, y_w ~ D}[log pi(y_w | x)]. This procedure helps mitigate the distribution shift between
// the true reference distribution which is unavailable, and pi_ref used by DPO"). The preference run then starts
// from this model, as policy and as reference. Loss: the token mean of the chosen responses' negative log-probs.
import type * as tf from '@tensorflow/tfjs-core';
import { batchSampler, createRng } from '@tuneloop/engine';
import { buildLogprobBatch, sequenceLogprobs, type CausalLM, type Tokenizer } from '@tuneloop/model';
import { sftLoss } from '../sft/index.ts';
import { ObjectiveInputError } from '../util/errors.ts';
import { requireInteger, requirePositive } from '../util/validate.ts';
import { encodePairs, type PreferenceExample } from './encode.ts';
import { runSteps, type StepMetrics } from './step-loop.ts';

export interface PreferredFtConfig {
  steps: number;
  batchSize: number; // chosen responses per step
  lr: number; // peak (warmup 10%, cosine)
  seed: number;
  maxLength?: number;
}

export interface PreferredFtRun {
  model: CausalLM;
  variables: tf.Variable[]; // what trains (all of the model for full fine-tuning, or an adapter's)
  tokenizer: Tokenizer;
  pairs: PreferenceExample[];
  config: PreferredFtConfig;
  onStep?: (m: StepMetrics) => void | boolean | Promise<void | boolean>;
}

/** Fine-tunes `variables` on the chosen side of `pairs` (checked and encoded as the preference trainers do). */
export async function trainPreferredFt(run: PreferredFtRun): Promise<StepMetrics[]> {
  const c = run.config;
  requireInteger('steps', c.steps, 1);
  requireInteger('batchSize', c.batchSize, 1);
  requirePositive('lr', c.lr);
  if (!Number.isInteger(c.seed)) throw new ObjectiveInputError('seed', `must be an integer, got ${c.seed}`);
  const enc = encodePairs(run.tokenizer, run.pairs, { maxLength: c.maxLength });
  const pad = run.tokenizer.padTokenId ?? 0;
  const nextIdx = batchSampler(createRng(c.seed), enc.length, c.batchSize);
  const lossAt = () => {
    const idx = nextIdx();
    const batch = buildLogprobBatch(idx.map((i) => enc[i].prompt), idx.map((i) => enc[i].chosen), pad);
    const { logprobs, mask } = sequenceLogprobs(run.model, batch);
    return { loss: sftLoss({ logps: logprobs, mask }).loss, metrics: {} };
  };
  return runSteps(run.variables, lossAt, { steps: c.steps, lr: c.lr }, run.onStep);
}
