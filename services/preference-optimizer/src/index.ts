// @tuneloop/preference-optimizer: DPO / IPO / ORPO / SimPO / KTO, and the GRPO / PPO / best-of-N policy updates.
export { preferenceOptimizer, SERVICE_NAME } from './service.ts';
