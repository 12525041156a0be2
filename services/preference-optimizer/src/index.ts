// @tuneloop/preference-optimizer: DPO / IPO / ORPO / SimPO / KTO and PPO / GRPO policy updates.
export {};
