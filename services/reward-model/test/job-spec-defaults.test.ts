// Defaults of a reward-model job that leaves fields unset follow the measured recipe (@tuneloop/objectives
// REWARD_MODEL_RECIPE): full fine-tuning, lr 3e-4, 400 steps of 16 pairs, reward centering 0.01; a LoRA job
// defaults to lr 3e-3 and r 8; epochs / max_steps / centering 0 given explicitly still win.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeTinyBase } from '@tuneloop/adapter-trainer';
import { REWARD_MODEL_RECIPE } from '@tuneloop/objectives';
import { StartRewardTrainingRequest } from '@tuneloop/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateRewardRequest } from '../src/job-spec.ts';
import { additionPairs } from './grpc-util.ts';

let home: string;
beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'tuneloop-rmdefaults-'));
  await writeTinyBase(path.join(home, 'models', 'tiny'));
  await writeFile(path.join(home, 'prefs.jsonl'), additionPairs(40, 3));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

const req = (spec: object = {}, options?: object) =>
  StartRewardTrainingRequest.fromPartial({ spec: { baseModel: { name: 'tiny' }, dataset: { uri: 'prefs.jsonl' }, ...spec }, options });

describe('reward-model job defaults', () => {
  it('an unset method, rate, steps, batch and centering take the recipe', async () => {
    const s = await validateRewardRequest(home, req(), '');
    expect(s.method).toBe('full');
    expect(s.loraConfig).toEqual({});
    expect(s.training.lr).toBe(3e-4);
    expect(s).toMatchObject({ totalSteps: 400, center: 0.01, margin: 0, training: { batchSize: 16 } });
    expect([s.training.lr, s.totalSteps, s.training.batchSize, s.center]).toEqual([REWARD_MODEL_RECIPE.lr, REWARD_MODEL_RECIPE.steps, REWARD_MODEL_RECIPE.batchSize, REWARD_MODEL_RECIPE.centerRewardsCoefficient]);
  });

  it('LoRA on request (lr 3e-3, r 8, alpha 16); explicit epochs, rate and centering 0 win', async () => {
    const lora = await validateRewardRequest(home, req({ method: { $case: 'lora', value: {} } }), '');
    expect(lora.method).toBe('lora');
    expect(lora.loraConfig).toMatchObject({ r: 8, lora_alpha: 16 });
    expect(lora.training.lr).toBe(3e-3);
    // 40 pairs, 10% held out = 36 training pairs: 2 epochs of batch 16 = 2 * 3 steps
    const ex = await validateRewardRequest(home, req({ training: { epochs: 2, learningRate: 0.01 } }, { centerRewardsCoefficient: 0 }), '');
    expect(ex).toMatchObject({ method: 'full', totalSteps: 6, center: 0, training: { lr: 0.01, batchSize: 16 } });
  });
});
