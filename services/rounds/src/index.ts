// @tuneloop/rounds: Alignment rounds: the state machine of the feedback loop.
export {};
