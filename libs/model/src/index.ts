// @tuneloop/model: Tokenizers, Llama-family transformer, KV-cache generation, log-probs, safetensors, HF checkpoints (pure, no I/O).
export { tokenizerFromFiles, TokenizerError } from './tokenizer/tokenizer.ts';
export type { Tokenizer, EncodeOptions, DecodeOptions, ChatMessage, ChatTemplateOptions } from './tokenizer/tokenizer.ts';
export { charTokenizer, byteTokenizer, bytesToUnicode, SIMPLE_CHAT_TEMPLATE } from './tokenizer/simple-tokenizers.ts';
export type { SpecialTokens, SimpleTokenizerOptions } from './tokenizer/simple-tokenizers.ts';
export { parseSafetensors, parseHeader, readHeaderLength, MAX_HEADER_BYTES } from './safetensors/reader.ts';
export type { SafetensorsHeader, HeaderEntry, ParsedSafetensors, ReadOptions } from './safetensors/reader.ts';
export { serializeSafetensors } from './safetensors/writer.ts';
export { SafetensorsError } from './safetensors/errors.ts';
export type { SafetensorsErrorCode } from './safetensors/errors.ts';
export { DTYPE_BYTES, isDType, numElements, toFloat32, fromFloat32, floatToHalf, halfToFloat, floatToBf16 } from './safetensors/dtypes.ts';
export type { DType, RawTensor } from './safetensors/dtypes.ts';
