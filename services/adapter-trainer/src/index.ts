// @tuneloop/adapter-trainer: SFT with full, partial and LoRA-family fine-tuning.
export { adapterTrainer, adapterTrainerApi, adapterTrainerHandlers, SERVICE_NAME } from './service.ts';
export { startSftWorker, SFT_DURABLE, SFT_ID_PREFIX, SFT_KIND, SFT_SUBJECT } from './worker.ts';
export type { SftWorkerOptions } from './worker.ts';
export { validateRequest, resolveBaseDir, resolveDatasetPath } from './prepare.ts';
export { resolveBase, resolveInitAdapter, resolveDataset, MAX_DATASET_BYTES } from './sources.ts';
export type { DatasetSource, InitAdapter, StoreDataset, StoreTarget } from './sources.ts';
export type { SftJobSpec, SftTraining, StoreRef } from './job-spec.ts';
export { adapterDirOf } from './train-job.ts';
export { checkpointDir, readCheckpoint } from './checkpoint.ts';
export { SftLoop } from './train/sft-loop.ts';
export type { LoopConfig, LoopHooks, LoopState, StepReport } from './train/sft-loop.ts';
export { tempHome as tempTrainerHome, writeTinyBase, additionsJsonl } from './testing.ts';
