// The one table of subject names and payload schemas (zod) of the tuneloop bus.
// Streams and subjects follow /tmp/team/CONTRACTS.md: EVENTS events.>, JOBS jobs.>, PROGRESS progress.>, DEAD dead.>.
import { z } from 'zod';

const isoTime = z.string().datetime({ offset: true });
const id = z.string().min(1).max(200);

export const PreferenceCreatedSchema = z.object({
  pairId: id,
  projectId: id,
  roundId: id.optional(),
  prompt: z.string(),
  chosen: z.string(),
  rejected: z.string(),
  annotatorId: id,
  /** how strongly the annotator preferred `chosen` (e.g. 0..1 or a Likert step) */
  strength: z.number().finite().optional(),
  createdAt: isoTime,
});

export const ModelPublishedSchema = z.object({
  modelId: id,
  name: z.string().min(1),
  /** storage format of the weights, e.g. 'safetensors', 'nf4', 'int8' */
  format: z.string().min(1),
  /** object-store blob names holding the model files */
  blobs: z.array(z.string().min(1)).default([]),
  sizeBytes: z.number().int().nonnegative().optional(),
  createdAt: isoTime,
});

export const AdapterPublishedSchema = z.object({
  adapterId: id,
  baseModelId: id,
  /** PEFT method name, e.g. 'lora', 'dora', 'vera' */
  method: z.string().min(1),
  roundId: id.optional(),
  jobId: id.optional(),
  blobs: z.array(z.string().min(1)).default([]),
  metrics: z.record(z.string(), z.number()).optional(),
  createdAt: isoTime,
});

export const RoundUpdatedSchema = z.object({
  roundId: id,
  projectId: id,
  state: z.string().min(1),
  previousState: z.string().min(1).optional(),
  reason: z.string().optional(),
  updatedAt: isoTime,
});

export const JobStateSchema = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type JobState = z.infer<typeof JobStateSchema>;

export const JobUpdatedSchema = z.object({
  jobId: id,
  kind: z.string().min(1),
  state: JobStateSchema,
  error: z.string().optional(),
  updatedAt: isoTime,
});

/** Every job message: {jobId, kind, spec}; `kind` is the subject without 'jobs.' (e.g. 'train.sft'). */
export const JobPayloadSchema = z.object({
  jobId: id,
  kind: z.string().min(1),
  spec: z.record(z.string(), z.unknown()),
});
export type JobPayload = z.infer<typeof JobPayloadSchema>;

/** Subject -> payload schema. The keys are logical subjects (no test prefix). */
export const SUBJECTS = {
  'events.preference.created': PreferenceCreatedSchema,
  'events.model.published': ModelPublishedSchema,
  'events.adapter.published': AdapterPublishedSchema,
  'events.round.updated': RoundUpdatedSchema,
  'events.job.updated': JobUpdatedSchema,
  'jobs.train.sft': JobPayloadSchema,
  'jobs.train.reward': JobPayloadSchema,
  'jobs.optimize.preference': JobPayloadSchema,
  'jobs.optimize.rl': JobPayloadSchema,
  'jobs.rollout.generate': JobPayloadSchema,
} as const;

export type Subject = keyof typeof SUBJECTS;
export type EventSubject = Extract<Subject, `events.${string}`>;
export type JobSubject = Extract<Subject, `jobs.${string}`>;
/** Payload type a producer passes for `S` (defaults not yet applied). */
export type PayloadIn<S extends Subject> = z.input<(typeof SUBJECTS)[S]>;
/** Payload type a consumer receives for `S` (validated, defaults applied). */
export type Payload<S extends Subject> = z.output<(typeof SUBJECTS)[S]>;

export const EVENT_SUBJECTS = Object.keys(SUBJECTS).filter((s) => s.startsWith('events.')) as EventSubject[];
export const JOB_SUBJECTS = Object.keys(SUBJECTS).filter((s) => s.startsWith('jobs.')) as JobSubject[];

export function isSubject(s: string): s is Subject {
  return Object.prototype.hasOwnProperty.call(SUBJECTS, s);
}

/** Validates a payload for a subject; the error names the subject and the first bad field. */
export function parsePayload<S extends Subject>(subject: S, payload: unknown): Payload<S> {
  const schema = SUBJECTS[subject] as z.ZodTypeAny;
  if (!schema) throw new PayloadError(subject, `unknown subject (known: ${Object.keys(SUBJECTS).join(', ')})`);
  const r = schema.safeParse(payload);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.length ? issue.path.join('.') : '(payload)';
    throw new PayloadError(subject, `${field}: ${issue.message}`);
  }
  if (subject.startsWith('jobs.') && (r.data as JobPayload).kind !== subject.slice('jobs.'.length)) {
    throw new PayloadError(subject, `kind: must be '${subject.slice(5)}' on ${subject}, got '${(r.data as JobPayload).kind}'`);
  }
  return r.data as Payload<S>;
}

/** A payload that does not match its subject's schema (never retryable). */
export class PayloadError extends Error {
  override readonly name = 'PayloadError';
  readonly code = 'INVALID_ARGUMENT';
  readonly retryable = false;
  constructor(
    readonly subject: string,
    detail: string,
  ) {
    super(`${subject}: ${detail}`);
  }
}
