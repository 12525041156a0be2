// @tuneloop/model-store: quantized base models and PEFT adapters, chunked upload/download, and the
// stored layout of quantized models with its loader into the model engine.
export { modelStore, createModelStore, modelStoreHandlers, backendFromEnv, SERVICE_NAME } from './service.ts';
export type { BackendKind } from './service.ts';
export { parseRef, formatRef } from './refs.ts';
export type { Ref } from './refs.ts';
export { encodeQuantized, decodeQuantized, readQuantMetadata, shouldQuantize, DEFAULT_KEEP, QUANT_METADATA_KEY } from './quantized-format.ts';
export type { QuantMetadata, DecodedModel, EncodedModel, EncodeOptions } from './quantized-format.ts';
export { buildModel, decodeModelFiles, loadStoredModel } from './load-quantized.ts';
export type { LoadMode } from './load-quantized.ts';
export { perplexity } from './perplexity.ts';
export type { Perplexity } from './perplexity.ts';
export { folderEntries, sendFolder, responseOf, receive, connectStore, progressBar, UPLOAD_CHUNK } from './client.ts';
