// @tuneloop/jobs: the machinery every job service shares (adapter-trainer, reward-model, preference-optimizer):
// Start/Get/List/Cancel/Watch handlers, the work-queue worker running a worker_thread, the thread protocol,
// checkpoints and the job folder layout.
export { jobRpcHandlers, checkJobIdArg, idempotentJobId, lastProgress, toJobWithProgress } from './handlers.ts';
export type { JobRpcHandlers, JobRpcOptions, StartLike } from './handlers.ts';
export { startJobWorker } from './worker.ts';
export type { JobWorkerOptions, JobFinish, FinishContext } from './worker.ts';
export { startJobThread, TerminatedError, DivergedError } from './runner.ts';
export type { JobThread } from './runner.ts';
export { errorMessageOf } from './protocol.ts';
export type { JobThreadMessage, JobThreadInput, JobThreadPost, JobThreadFn, JobDone } from './protocol.ts';
export { writeCheckpoint, readCheckpoint, STATE_FILE } from './checkpoint.ts';
export type { TrainState } from './checkpoint.ts';
export { jobDir, checkpointDir, doneFileOf } from './paths.ts';
export { toJob, toJobEvent, statusOf, stateOf } from './convert.ts';
export type { StoredSpec } from './convert.ts';
export { resolveBaseDir, readBase } from './base-model.ts';
export type { BaseInfo } from './base-model.ts';
export { storeAdapter, storeError, storeNameOf } from './store-adapter.ts';
export type { StoredAdapter, StoreAdapterInput } from './store-adapter.ts';
export { describeModel, pullModel, storeModelFolder, sameFileEntries } from './store-models.ts';
export { folderEntries, sendFolder, responseOf, receive, connectStore, progressBar, UPLOAD_CHUNK } from './store-client.ts';
export { pushDataset, describeDataset, listDatasets, fetchDatasetFile, storeFileFetcher } from './store-datasets.ts';
export type { PushDatasetInput, StoreFileRef, FetchedStoreFile } from './store-datasets.ts';
export { resolveModel, resolveAdapter, withStoreRetry, localFolder } from './resolve-refs.ts';
export type { Ref, ResolvedFolder } from './resolve-refs.ts';
export { readAdapterFolder, startingPolicy } from './starting-policy.ts';
