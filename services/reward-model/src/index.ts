// @tuneloop/reward-model: Bradley-Terry reward model training jobs, evaluation and scoring.
export { rewardModel, rewardModelApi, SERVICE_NAME } from './service.ts';
export { rewardJobHandlers, startRewardWorker, REWARD_KIND, REWARD_SUBJECT, REWARD_DURABLE } from './jobs.ts';
export type { RewardWorkerOptions } from './jobs.ts';
export { validateRewardRequest, resolveBase, readPairs, checkPairs, LIMITS as REWARD_LIMITS } from './job-spec.ts';
export type { RewardJobSpec } from './job-spec.ts';
export { RewardScorer, rewardModelDir, scoreLimitsFromEnv, scoreStats, HEAD_FILE } from './scorer.ts';
export { rewardModelOutDir, bakeMerged, INFO_FILE } from './reward-thread.ts';
export { evaluateRequest, MAX_EVAL_PAIRS } from './evaluate.ts';
