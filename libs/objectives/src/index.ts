// @tuneloop/objectives: Pure loss functions: SFT, Bradley-Terry, DPO family, ORPO, SimPO, KTO, PPO, GRPO.
export {};
