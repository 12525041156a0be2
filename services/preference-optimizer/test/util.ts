// Test helpers of the preference optimizer: promisified RPCs, a Watch collector, a tiny seeded base model imported
// into a real model store, and small datasets (preference pairs, KTO rows, prompts) in its alphabet.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { writeTinyBase } from '@tuneloop/adapter-trainer';
import { createRng } from '@tuneloop/engine';
import { connectStore, folderEntries, responseOf, sendFolder } from '@tuneloop/jobs';
import {
  PreferenceOptimizerServiceClient,
  type GetOptimizationJobResponse,
  type JobEvent,
  type ModelInfo,
  type ModelStoreServiceClient,
  type StartOptimizationRequest,
  type StartOptimizationResponse,
  type UploadModelRequest,
  type CancelOptimizationJobResponse,
  type ListOptimizationJobsResponse,
} from '@tuneloop/proto';
import { collectEvents, unaryCall } from '@tuneloop/service-kit';

export { errorOf, until } from '@tuneloop/service-kit';

export function optimizerClient(target: string): PreferenceOptimizerServiceClient {
  return new PreferenceOptimizerServiceClient(target, credentials.createInsecure());
}

export function optimizerApi(c: PreferenceOptimizerServiceClient) {
  return {
    start: (req: StartOptimizationRequest) => unaryCall<StartOptimizationResponse>((cb) => c.startOptimization(req, cb)),
    get: (jobId: string) => unaryCall<GetOptimizationJobResponse>((cb) => c.getOptimizationJob({ jobId }, cb)),
    cancel: (jobId: string) => unaryCall<CancelOptimizationJobResponse>((cb) => c.cancelOptimizationJob({ jobId }, cb)),
    list: (pageSize = 0, pageToken = '') => unaryCall<ListOptimizationJobsResponse>((cb) => c.listOptimizationJobs({ pageSize, pageToken, status: 0 }, cb)),
  };
}

/** Watches a job until its stream ends. */
export async function watchJob(c: PreferenceOptimizerServiceClient, jobId: string, onEvent: (e: JobEvent) => void | Promise<void> = () => {}): Promise<JobEvent[]> {
  return collectEvents(c.watchOptimizationJob({ jobId }), onEvent);
}

/** `n` seeded pairs: the right single-digit sum is chosen over a wrong, longer answer. */
export function pairsJsonl(n: number, seed = 1): string {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const a = rng.int(5);
    const b = rng.int(5);
    return JSON.stringify({ prompt: `${a}+${b}=`, chosen: String(a + b), rejected: `${(a + b + 1 + rng.int(3)) % 10} no` });
  }).join('\n') + '\n';
}

/** `n` seeded prompts {prompt, answer}. */
export function promptsJsonl(n: number, seed = 2): string {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const a = rng.int(5);
    const b = rng.int(5);
    return JSON.stringify({ prompt: `${a}+${b}=`, answer: String(a + b) });
  }).join('\n') + '\n';
}

/** Uploads a model folder to the store as `name` (next version) and returns its info. */
export async function importModel(c: ModelStoreServiceClient, dir: string, name: string): Promise<ModelInfo> {
  const files = await folderEntries(dir);
  const { call, done } = responseOf<{ model?: ModelInfo }, ReturnType<ModelStoreServiceClient['uploadModel']>>((cb) => c.uploadModel(new Metadata(), cb));
  await sendFolder<UploadModelRequest>(call, { part: { $case: 'header', value: { ref: { name, version: '' }, quantization: 0, files } } }, dir, files);
  return (await done).model!;
}

/** Downloads one file of a stored adapter. */
export async function adapterFile(c: ModelStoreServiceClient, name: string, version: string, file: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const m of c.getAdapter({ ref: { name, version }, path: file, offset: 0, chunkSize: 0 }) as AsyncIterable<{ chunk?: { data: Uint8Array } }>) {
    if (m.chunk) parts.push(Buffer.from(m.chunk.data));
  }
  return Buffer.concat(parts);
}

/** A temporary TUNELOOP_HOME with a tiny seeded base model (outside models/: jobs must get it from the store) and datasets. */
export async function tempHome(): Promise<{ home: string; baseDir: string; cleanup(): Promise<void> }> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'tuneloop-optimizer-'));
  const baseDir = path.join(home, 'import', 'tinypo');
  await writeTinyBase(baseDir, 5);
  await writeFile(path.join(home, 'prefs.jsonl'), pairsJsonl(40));
  await writeFile(path.join(home, 'prompts.jsonl'), promptsJsonl(24));
  return { home, baseDir, cleanup: () => rm(home, { recursive: true, force: true }) };
}

export { connectStore };
