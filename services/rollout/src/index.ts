// @tuneloop/rollout: generation workers and verifiers (GRPO groups, best-of-N, PPO rollouts).
export { rollout, SERVICE_NAME } from './service.ts';
