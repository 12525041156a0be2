// @tuneloop/peft: Parameter-efficient fine-tuning methods, one folder each, and the registry.
export {};
