// @tuneloop/preference-optimizer: DPO / IPO / ORPO / SimPO / KTO, and the GRPO / PPO / best-of-N policy updates, as jobs.
export { preferenceOptimizer, preferenceOptimizerApi, preferenceOptimizerHandlers, startOptimizerWorkers, SERVICE_NAME, KINDS, DURABLES } from './service.ts';
export type { OptimizerOptions } from './service.ts';
export { resolveSpec, SUBJECTS, PREFERENCE_OBJECTIVES, RL_OBJECTIVES } from './job-spec.ts';
export type { OptimizeJobSpec, Objective } from './job-spec.ts';
export { validateRequest, parsePromptsJsonl } from './prepare.ts';
export { adapterDirOf } from './optimize-thread.ts';
