// @tuneloop/model-store: Quantized model and adapter store.
export {};
