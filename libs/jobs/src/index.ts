// @tuneloop/jobs: the machinery every job service shares (adapter-trainer, reward-model, preference-optimizer):
// Start/Get/List/Cancel/Watch handlers, the work-queue worker running a worker_thread, the thread protocol,
// checkpoints and the job folder layout.
export { jobRpcHandlers, checkJobIdArg } from './handlers.ts';
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
