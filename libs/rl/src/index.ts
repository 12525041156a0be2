// @tuneloop/rl: reinforcement learning for causal LM policies with verifiers and reward models: GRPO
// (group sampling, verifier rewards, clipped policy-ratio steps), best-of-N rejection sampling + SFT, held-out pass@1.
export { RlInputError } from './errors.ts';
export { encodePrompts } from './prompts.ts';
export type { RlPrompt } from './prompts.ts';
export { sampleGroups, scoreRollouts } from './sample-groups.ts';
export type { Rollout, SampleOptions } from './sample-groups.ts';
export { greedyPassAt1 } from './evaluate.ts';
export type { PassAt1 } from './evaluate.ts';
export { PolicyOptimizer } from './optimizer.ts';
export type { PolicyStepResult } from './optimizer.ts';
export { resolveGrpoConfig } from './grpo-config.ts';
export type { GrpoConfig, ResolvedGrpoConfig } from './grpo-config.ts';
export { trainGrpo, prepareGrpo } from './grpo-trainer.ts';
export type { GroupSampler, GrpoRun, GrpoStepMetrics } from './grpo-trainer.ts';
export { bestOfN, isCandidate } from './best-of-n.ts';
export type { BestOfNConfig, BestOfNRun, BestOfNResult } from './best-of-n.ts';
export { trainPpo, ppoValueHead, ppoOptimizer } from './ppo-trainer.ts';
export type { PpoConfig, PpoRun, PpoStepMetrics } from './ppo-trainer.ts';
