// @tuneloop/files: File-system adapters: Hugging Face folders on disk, atomic writes.
export { writeFolderAtomic, recoverFolder, checkFileName, FilesError } from './atomic.ts';
export type { FileContent } from './atomic.ts';
export { readSafetensorsFile, readSafetensorsHeaderFile } from './safetensors-file.ts';
export { loadHfFolder, readJsonFile } from './load-hf-folder.ts';
export type { HfFolder, WeightsLayout, LoadHfFolderOptions } from './load-hf-folder.ts';
export { saveHfFolder, hfFolderFiles, DEFAULT_MAX_SHARD_BYTES } from './save-hf-folder.ts';
export type { SaveHfFolderOptions, WeightInput } from './save-hf-folder.ts';
export { inspectHfFolder } from './inspect-hf-folder.ts';
export type { FolderInspection } from './inspect-hf-folder.ts';
export { loadModel, saveModel } from './model-io.ts';
export type { LoadedModel, SaveModelOptions } from './model-io.ts';
export { pretrainArithToFolder, defaultBaseModelDir } from './pretrain-arith.ts';
export type { PretrainSummary, PretrainOptions } from './pretrain-arith.ts';
