// @tuneloop/reward-model: Reward model training and scoring.
export {};
