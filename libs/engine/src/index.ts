// @tuneloop/engine: TensorFlow.js backend choice, seeded RNG, optimizers, memory guard.
export {};
