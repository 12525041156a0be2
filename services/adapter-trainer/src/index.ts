// @tuneloop/adapter-trainer: SFT with full / partial / LoRA-family methods.
export {};
