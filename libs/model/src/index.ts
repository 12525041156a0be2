// @tuneloop/model: Tokenizers, Llama-family transformer, KV-cache generation, log-probs, safetensors, HF checkpoints (pure, no I/O).
export { tokenizerFromFiles, TokenizerError } from './tokenizer/tokenizer.ts';
export type { Tokenizer, EncodeOptions, DecodeOptions, ChatMessage, ChatTemplateOptions } from './tokenizer/tokenizer.ts';
export { charTokenizer, byteTokenizer, bytesToUnicode, SIMPLE_CHAT_TEMPLATE } from './tokenizer/simple-tokenizers.ts';
export type { SpecialTokens, SimpleTokenizerOptions } from './tokenizer/simple-tokenizers.ts';
