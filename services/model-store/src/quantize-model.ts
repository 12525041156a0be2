// QuantizeModel: reads a stored full-precision model's files, quantizes them in a worker thread
// (quantize-compute.ts) and returns the new folder: model.safetensors and config.json are new, every
// other file (tokenizer, generation config) is shared with the source by hash.
import { Worker } from 'node:worker_threads';
import { INDEX_FILE } from '@tuneloop/model';
import { FailedPreconditionError, InvalidArgumentError } from '@tuneloop/service-kit';
import { sha256Hex, type BlobStore } from './backend.ts';
import type { ManifestFile, ModelManifest } from './catalog.ts';
import { readBlob } from './folder-check.ts';
import type { QuantizeJob, QuantizeJobResult, QuantizeParams, QuantizeReport } from './quantize-compute.ts';

export type { QuantizeParams, QuantizeReport };

export interface QuantizedFiles {
  /** the new folder: shared entries plus new files with their bytes */
  files: { entry: ManifestFile; bytes?: Uint8Array }[];
  configJson: string;
  parameterCount: number;
  report: QuantizeReport;
}

const isWeightFile = (p: string) => p.endsWith('.safetensors') || p === INDEX_FILE;

/** Runs one job in a fresh worker thread (quantize-worker.mjs registers tsx there, then loads the .ts entry). */
function runInWorker(job: QuantizeJob, signal?: AbortSignal): Promise<QuantizeJobResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./quantize-worker.mjs', import.meta.url));
    const onAbort = () => void worker.terminate();
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
    };
    worker.once('message', (msg: { result?: QuantizeJobResult; error?: { name: string; message: string; field?: string; problem?: string } }) => {
      done();
      if (msg.result) return resolve(msg.result);
      const e = msg.error!;
      if (e.name === 'QuantizeInputError' && e.field) reject(new InvalidArgumentError(e.field, e.problem ?? e.message));
      else if (e.name === 'QuantInputError') reject(new InvalidArgumentError('block_size', e.message));
      else reject(new Error(`quantize worker: ${e.name}: ${e.message}`));
    });
    worker.once('error', (err) => {
      done();
      reject(err);
    });
    worker.once('exit', (code) => reject(new Error(`quantize worker exited with code ${code}`)));
    worker.postMessage(job, job.weightFiles.map(([, b]) => b.buffer as ArrayBuffer));
  });
}

export async function quantizeModelFiles(blobs: BlobStore, source: ModelManifest, p: QuantizeParams, signal?: AbortSignal): Promise<QuantizedFiles> {
  if (source.quantization !== 'none') {
    throw new FailedPreconditionError(`${source.name}@${source.version} is already quantized (${source.quantization}); quantize a full-precision version`);
  }
  const find = (path: string) => source.files.find((f) => f.path === path);
  const json = async (f: ManifestFile) => JSON.parse(new TextDecoder().decode(await readBlob(blobs, f))) as unknown;
  const tokFile = find('tokenizer.json');
  if (p.evalText && !tokFile) throw new FailedPreconditionError(`eval_text: ${source.name}@${source.version} has no tokenizer.json`);
  const tokCfg = find('tokenizer_config.json');
  const weightFiles = source.files.filter((f) => isWeightFile(f.path));
  const job: QuantizeJob = {
    weightFiles: [],
    rawConfig: (await json(find('config.json')!)) as Record<string, unknown>,
    tokenizerJson: p.evalText && tokFile ? await json(tokFile) : undefined,
    tokenizerConfig: p.evalText && tokCfg ? await json(tokCfg) : undefined,
    params: p,
  };
  for (const f of weightFiles) job.weightFiles.push([f.path, (await readBlob(blobs, f)).slice()]); // own buffers: transferred
  const r = await runInWorker(job, signal);
  const files: QuantizedFiles['files'] = source.files.filter((f) => !isWeightFile(f.path) && f.path !== 'config.json').map((entry) => ({ entry }));
  files.push({ entry: { path: 'config.json', size: r.config.length, sha256: sha256Hex(r.config) }, bytes: r.config });
  files.push({ entry: { path: 'model.safetensors', size: r.weights.length, sha256: sha256Hex(r.weights) }, bytes: r.weights });
  return { files, configJson: new TextDecoder().decode(r.config), parameterCount: r.parameterCount, report: r.report };
}
