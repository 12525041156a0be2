// @tuneloop/reward-model: Bradley-Terry reward model training and scoring.
export { rewardModel, SERVICE_NAME } from './service.ts';
