// GRPO run settings (TRL GRPOConfig names in camelCase) and their validation: every bad value is an
// RlInputError naming the field and the limit.
import { GRPO_LOSS_TYPES, GRPO_SCALE_REWARDS, type GrpoLossType, type GrpoScaleRewards } from '@tuneloop/objectives';
import { RlInputError } from './errors.ts';

export interface GrpoConfig {
  steps: number; // generation batches (each followed by numIterations optimizer steps)
  promptsPerStep?: number; // P prompts per generation batch; default 16 (8 gave noisier, smaller gains on arith)
  groupSize?: number; // G completions per prompt, >= 2; default 8
  numIterations?: number; // optimizer steps per generation batch (TRL num_iterations, mu); default 2
  lr?: number; // AdamW learning rate (constant after the warmup); default 3e-4 (LoRA; 1e-3+ degraded the tiny arith policy)
  warmupSteps?: number; // linear warmup over the first optimizer steps (TRL warmup_steps); default 0
  weightDecay?: number; // default 0
  clipNorm?: number; // global gradient norm clip; default 1
  beta?: number; // k3 KL coefficient to the reference (adapters disabled); default 0 as TRL
  epsilonLow?: number; // default 0.2
  epsilonHigh?: number; // default epsilonLow
  lossType?: GrpoLossType; // default 'dapo' (TRL's default)
  scaleRewards?: GrpoScaleRewards; // default 'group'
  temperature?: number; // sampling temperature; default 1
  topK?: number; // default 0 (off)
  topP?: number; // default 1 (off)
  maxNewTokens?: number; // default 8
  maskTruncatedCompletions?: boolean; // drop completions without EOS from the loss; default false
  passThreshold?: number; // a reward >= this counts as a pass in pass_rate; default 1
  seed?: number; // default 0
}

export type ResolvedGrpoConfig = Required<Omit<GrpoConfig, 'epsilonHigh'>> & { epsilonHigh: number };

const int = (field: string, v: unknown, min: number): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new RlInputError(field, `must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
};
const num = (field: string, v: unknown, ok: (x: number) => boolean, rule: string): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new RlInputError(field, `must be ${rule}, got ${JSON.stringify(v)}`);
  return v;
};
const oneOf = <T extends string>(field: string, v: unknown, allowed: readonly T[]): T => {
  if (!allowed.includes(v as T)) throw new RlInputError(field, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
};

export function resolveGrpoConfig(c: GrpoConfig): ResolvedGrpoConfig {
  if (c === null || typeof c !== 'object') throw new RlInputError('config', 'must be an object');
  const epsilonLow = num('epsilonLow', c.epsilonLow ?? 0.2, (x) => x > 0 && x < 1, 'in (0, 1)');
  return {
    steps: int('steps', c.steps, 1),
    promptsPerStep: int('promptsPerStep', c.promptsPerStep ?? 16, 1),
    groupSize: int('groupSize', c.groupSize ?? 8, 2),
    numIterations: int('numIterations', c.numIterations ?? 2, 1),
    lr: num('lr', c.lr ?? 3e-4, (x) => x > 0, '> 0'),
    warmupSteps: int('warmupSteps', c.warmupSteps ?? 0, 0),
    weightDecay: num('weightDecay', c.weightDecay ?? 0, (x) => x >= 0, '>= 0'),
    clipNorm: num('clipNorm', c.clipNorm ?? 1, (x) => x > 0, '> 0'),
    beta: num('beta', c.beta ?? 0, (x) => x >= 0, '>= 0'),
    epsilonLow,
    epsilonHigh: num('epsilonHigh', c.epsilonHigh ?? epsilonLow, (x) => x > 0, '> 0'),
    lossType: oneOf('lossType', c.lossType ?? 'dapo', GRPO_LOSS_TYPES),
    scaleRewards: oneOf('scaleRewards', c.scaleRewards ?? 'group', GRPO_SCALE_REWARDS),
    temperature: num('temperature', c.temperature ?? 1, (x) => x > 0, '> 0 (sampling; greedy groups would be identical)'),
    topK: int('topK', c.topK ?? 0, 0),
    topP: num('topP', c.topP ?? 1, (x) => x > 0 && x <= 1, 'in (0, 1]'),
    maxNewTokens: int('maxNewTokens', c.maxNewTokens ?? 8, 1),
    maskTruncatedCompletions: c.maskTruncatedCompletions ?? false,
    passThreshold: num('passThreshold', c.passThreshold ?? 1, () => true, 'a finite number'),
    seed: int('seed', c.seed ?? 0, 0),
  };
}
