// Defaults of an optimization job that leaves fields unset: the measured recipes (@tuneloop/objectives
// PREFERENCE_RECIPE for the DPO family; libs/rl's measured RL settings for GRPO / PPO / best-of-N).
import { PREFERENCE_RECIPE } from '@tuneloop/objectives';
import { JobSpec } from '@tuneloop/proto';
import { describe, expect, it } from 'vitest';
import { resolveSpec } from './job-spec.ts';

const spec = (objective: object, over: object = {}) =>
  JobSpec.fromPartial({ baseModel: { name: 'tiny' }, dataset: { uri: 'data.jsonl' }, objective: objective as JobSpec['objective'], ...over });
const verifier = { json: '{"type":"numeric"}' };

describe('optimization job defaults', () => {
  it('DPO family: lr 1e-3, 150 steps of 16 pairs, LoRA r 8 alpha 16 on all linears; IPO tau 1', () => {
    const d = resolveSpec(spec({ $case: 'dpo', value: {} }), undefined);
    expect(d.training).toMatchObject({ lr: 1e-3, maxSteps: 150, batchSize: 16, warmupSteps: -1 });
    expect([d.training.lr, d.training.maxSteps, d.training.batchSize]).toEqual([PREFERENCE_RECIPE.lr, PREFERENCE_RECIPE.steps, PREFERENCE_RECIPE.batchSize]);
    expect(d.methodConfig).toEqual({ r: 8, lora_alpha: 16, target_modules: 'all-linear' });
    expect(d.preference?.beta).toBeUndefined(); // the objectives' default (0.1)
    expect(resolveSpec(spec({ $case: 'ipo', value: {} }), undefined).preference?.beta).toBe(1);
    expect(resolveSpec(spec({ $case: 'ipo', value: { tau: 0.1 } }), undefined).preference?.beta).toBe(0.1);
    // epochs given (no max_steps): they count, not the recipe's steps
    expect(resolveSpec(spec({ $case: 'kto', value: {} }, { training: { epochs: 2 } }), undefined).training).toMatchObject({ maxSteps: 0, epochs: 2 });
  });

  it('RL: GRPO lr 3e-4 and 16 prompts, PPO lr 3e-4, best-of-N lr 1e-3; GRPO warms up only when asked', () => {
    const g = resolveSpec(spec({ $case: 'grpo', value: { verifier } }, { dataset: { uri: 'p.jsonl', format: 5 } }), undefined);
    expect(g.training).toMatchObject({ lr: 3e-4, batchSize: 16, maxSteps: 40 });
    expect(g.grpo?.warmupSteps).toBeUndefined();
    const w = resolveSpec(spec({ $case: 'grpo', value: { verifier } }, { dataset: { uri: 'p.jsonl', format: 5 }, training: { warmupSteps: 5 } }), undefined);
    expect(w.grpo?.warmupSteps).toBe(5);
    const p = resolveSpec(spec({ $case: 'ppo', value: { rewardModel: { name: 'rm', version: '1' } } }, { dataset: { uri: 'p.jsonl', format: 5 } }), undefined);
    expect(p.training).toMatchObject({ lr: 3e-4, batchSize: 16, maxSteps: 40 });
    expect(p.ppo?.klCoef).toBeUndefined(); // libs/rl's default (0.3)
    const b = resolveSpec(spec({ $case: 'bestOfN', value: { verifier } }, { dataset: { uri: 'p.jsonl', format: 5 } }), undefined);
    expect(b.training).toMatchObject({ lr: 1e-3, batchSize: 16, maxSteps: 40 });
  });
});
