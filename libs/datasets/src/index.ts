// @tuneloop/datasets: JSONL dataset formats and the seeded synthetic tasks.
export {};
