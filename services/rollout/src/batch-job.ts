// The rollout batch job carried on `jobs.rollout.generate` (JobPayload.spec) and its result record: a
// contiguous slice of a request's prompts, sampled G times each with seeds that depend only on the
// completion's place in the request (so a redelivered or re-batched job gives the same completions).
import { z } from 'zod';
import { PolicySpecSchema } from './policy.ts';

export const BatchSpecSchema = z.object({
  requestId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  batch: z.number().int().min(0),
  batches: z.number().int().min(1),
  modelDir: z.string().min(1).optional(), // a Hugging Face folder (with tokenizer.json) the worker loads and caches
  policy: PolicySpecSchema.optional(), // or a policy (folder or pinned model-store versions); one of the two
  firstPrompt: z.number().int().min(0), // index of prompts[0] in the request
  prompts: z.array(z.object({ prompt: z.string().min(1), reference: z.string().optional() })).min(1),
  groupSize: z.number().int().min(1),
  maxNewTokens: z.number().int().min(1),
  temperature: z.number().min(0),
  topK: z.number().int().min(0),
  topP: z.number().gt(0).max(1),
  seed: z.number().int().min(0),
  stop: z.array(z.string().min(1)).default([]),
  resultBucket: z.string().min(1),
}).refine((b) => (b.modelDir === undefined) !== (b.policy === undefined), { message: 'exactly one of modelDir and policy' });
export type BatchSpec = z.infer<typeof BatchSpecSchema>;

export const CompletionRecordSchema = z.object({
  promptIndex: z.number().int(), // index in the request
  sample: z.number().int(), // 0..G-1
  tokens: z.array(z.number().int()),
  text: z.string(),
  logprobs: z.array(z.number()),
  finishReason: z.enum(['eos', 'stop', 'length']),
});
export type CompletionRecord = z.infer<typeof CompletionRecordSchema>;

export const BatchResultSchema = z.object({
  requestId: z.string(),
  batch: z.number().int(),
  worker: z.string(), // who stored it (process id and host), for tests and logs
  deliveryCount: z.number().int(),
  batchSequences: z.number().int().optional(), // sequences in the worker's generation call (batch mates included)
  completions: z.array(CompletionRecordSchema),
  error: z.string().optional(), // the batch failed for good on the worker (the request fails now, not at its timeout)
});
export type BatchResult = z.infer<typeof BatchResultSchema>;

/** KV key of a batch result. */
export const resultKey = (requestId: string, batch: number): string => `${requestId}.${batch}`;

/** A streaming Generate job: n completions of one encoded prompt, token events published on `subject`. */
export const StreamSpecSchema = z.object({
  streamId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  policy: PolicySpecSchema,
  promptIds: z.array(z.number().int().min(0)).min(1),
  n: z.number().int().min(1),
  maxNewTokens: z.number().int().min(1),
  temperature: z.number().min(0),
  topK: z.number().int().min(0),
  topP: z.number().gt(0).max(1),
  seed: z.number().int().min(0), // completion i uses seed + i
  stop: z.array(z.string().min(1)).default([]),
  subject: z.string().min(1), // wire subject of the events; `${subject}.hello` (request) and `${subject}.cancel`
});
export type StreamSpec = z.infer<typeof StreamSpecSchema>;

/** What a worker publishes on a stream's subject. */
export type StreamEvent =
  | { type: 'token'; index: number; step: number; token: number; logprob: number; textDelta: string; finishReason?: 'eos' | 'stop' | 'length' }
  | { type: 'error'; message: string; transport?: boolean; unavailable?: boolean }
  | { type: 'end'; worker: string; batchSequences: number };
