// @tuneloop/rollout: generation workers and verifiers (GRPO groups, best-of-N, PPO rollouts).
export { rollout, SERVICE_NAME } from './service.ts';
export { LIMITS as ROLLOUT_LIMITS, checkSampling, encodeChecked } from './handlers.ts';
export { dispatchGroups, RolloutBatchError, resultBucketName } from './dispatcher.ts';
export type { GroupsRequest, GroupsResult } from './dispatcher.ts';
export { streamGenerate, StreamError } from './stream.ts';
export type { TokenEvent } from './stream.ts';
export { startRolloutWorker } from './worker.ts';
export type { RolloutWorkerOptions } from './worker.ts';
export { generateSteps, Batcher } from './engine.ts';
export type { SequenceSpec, BatchedGenerations } from './engine.ts';
export { resolvePolicy, PolicyCache, policyKey } from './policy.ts';
export type { PolicySpec, LoadedPolicy } from './policy.ts';
export { verifierOf } from './verifier-spec.ts';
