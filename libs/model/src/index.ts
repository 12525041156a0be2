// @tuneloop/model: Tokenizers, Llama-family transformer, KV-cache generation, log-probs, safetensors, HF checkpoints (pure, no I/O).
export {};
