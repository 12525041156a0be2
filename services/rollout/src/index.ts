// @tuneloop/rollout: Generation workers and verifiers.
export {};
