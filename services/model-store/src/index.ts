// @tuneloop/model-store: quantized base models and PEFT adapters, chunked upload/download.
export { modelStore, SERVICE_NAME } from './service.ts';
