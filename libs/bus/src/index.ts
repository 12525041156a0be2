// Public API of @tuneloop/bus: NATS JetStream connection, subjects, provisioning, publish, work queues, KV, objects.
export { connectBus, redactUrl, silentLogger } from './connect.ts';
export type { Bus, BusLogger, ConnectBusOptions } from './connect.ts';
export { natsStatus } from './status.ts';
export type { NatsStatus } from './status.ts';
export { resolveNames, wireSubject, logicalSubject } from './names.ts';
export type { BusNames } from './names.ts';
export {
  SUBJECTS,
  EVENT_SUBJECTS,
  JOB_SUBJECTS,
  isSubject,
  parsePayload,
  PayloadError,
  PreferenceCreatedSchema,
  ModelPublishedSchema,
  AdapterPublishedSchema,
  RoundUpdatedSchema,
  JobUpdatedSchema,
  JobPayloadSchema,
  JobStateSchema,
} from './subjects.ts';
export type { Subject, EventSubject, JobSubject, Payload, PayloadIn, JobPayload, JobState } from './subjects.ts';
export { publish, enqueue, publishRaw, encodeJson, decodeJson } from './publish.ts';
export type { PublishOptions, PublishResult } from './publish.ts';
export { provision, deprovision, ensureStream, streamConfigs } from './provision.ts';
export type { ProvisionSpec } from './provision.ts';
export { workQueue } from './work-queue.ts';
export type { WorkQueue, WorkQueueOptions, JobContext, JobHandler, StopOptions } from './work-queue.ts';
export { RetryableError, isRetryable, errorSummary } from './errors.ts';
export { DeadLetterSchema, publishDeadLetter, listDeadLetters, watchMaxDeliveries } from './dead-letter.ts';
export type { DeadLetter } from './dead-letter.ts';
export { typedKv, checkKey, KvConflictError } from './kv.ts';
export type { TypedKv, Versioned, KvChange } from './kv.ts';
export { JobRecordSchema, RoundRecordSchema, jobsKv, roundsKv, createJob, transitionJob, isTerminal, JobStateError } from './job-state.ts';
export type { JobRecord, JobRecordIn, RoundRecord } from './job-state.ts';
export { ProgressEventSchema, publishProgress, progressReporter, watchProgress, progressSubject, checkJobId } from './progress.ts';
export type { ProgressEvent, ProgressEventIn, WatchProgressOptions } from './progress.ts';
export { blobStore, putBlob, getBlob, getBlobBytes, blobInfo, deleteBlob, listBlobs } from './objects.ts';
export type { BlobInfo, BlobSource } from './objects.ts';
