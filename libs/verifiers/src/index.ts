// @tuneloop/verifiers: Pure scoring functions for completions, plus the sandbox for model-written code.
export {};
