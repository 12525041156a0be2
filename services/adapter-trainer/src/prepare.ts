// Everything an SFT job checks before training: the base model folder (config.json + tokenizer, no weights),
// the dataset file (parsed and tokenized), the method config against the model. Used by StartTraining
// (so bad input fails fast with INVALID_ARGUMENT) and again by the worker that trains.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { createRng } from '@tuneloop/engine';
import { DatasetError, parseSftJsonl } from '@tuneloop/datasets';
import { readBase, resolveBaseDir } from '@tuneloop/jobs';
import type { ModelConfig, Tokenizer } from '@tuneloop/model';
import type { StartTrainingRequest } from '@tuneloop/proto';
import { InvalidArgumentError } from '@tuneloop/service-kit';
export { readBase, resolveBaseDir } from '@tuneloop/jobs';
import { checkMethodConfig, methodOf, optionsOf, outputNameOf, trainingOf, type SftJobSpec } from './job-spec.ts';
import { SftLoop } from './train/sft-loop.ts';
import { encodeSftExample, splitRows, SftDataError, type SftRow } from './train/sft-data.ts';

/** Largest dataset file accepted (it is read whole). */
export const MAX_DATASET_BYTES = 256 * 1024 * 1024;

/** Dataset file: an absolute path or a path relative to TUNELOOP_HOME ("blobs://" is not served yet). */
export function resolveDatasetPath(home: string, uri: string): string {
  if (!uri) throw new InvalidArgumentError('dataset.uri', 'must name a JSONL file');
  if (/^[a-z]+:\/\//.test(uri)) throw new InvalidArgumentError('dataset.uri', `only file paths are supported, got ${JSON.stringify(uri)}`);
  return path.isAbsolute(uri) ? uri : path.resolve(home, uri);
}

export async function readDataset(file: string): Promise<string> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    throw new InvalidArgumentError('dataset.uri', `no such file: ${file}`);
  }
  if (size > MAX_DATASET_BYTES) throw new InvalidArgumentError('dataset.uri', `${file} is ${size} bytes, more than the limit of ${MAX_DATASET_BYTES}`);
  return readFile(file, 'utf8');
}

export interface PreparedRows {
  train: SftRow[];
  eval: SftRow[];
}

/** Parses and tokenizes the dataset, then splits it with the job's seed. Bad lines are INVALID_ARGUMENT. */
export function prepareRows(text: string, source: string, tokenizer: Tokenizer, config: ModelConfig, spec: SftJobSpec): PreparedRows {
  const maxLen = spec.training.maxSeqLength > 0 ? spec.training.maxSeqLength : config.maxPositionEmbeddings;
  let rows: SftRow[];
  try {
    rows = parseSftJsonl(text, { source }).map((ex) => encodeSftExample(tokenizer, ex, maxLen, spec.overlong));
  } catch (e) {
    if (e instanceof DatasetError) throw new InvalidArgumentError('dataset', e.message);
    if (e instanceof SftDataError) throw new InvalidArgumentError('dataset', `${source}: ${e.message}`);
    throw e;
  }
  const fraction = rows.length >= 2 ? spec.evalFraction : 0;
  return splitRows(rows, fraction, (xs) => createRng(spec.training.seed + 17).shuffle(xs));
}

/** Optimizer steps the job will run. */
export function totalStepsOf(spec: SftJobSpec, trainRows: number): number {
  const t = spec.training;
  return t.maxSteps > 0 ? t.maxSteps : SftLoop.stepsFor(trainRows, t.epochs, t.batchSize, t.gradAccum);
}

/** Checks a StartTrainingRequest completely (model, method, dataset) and returns the job spec. */
export async function validateRequest(home: string, req: StartTrainingRequest): Promise<{ spec: SftJobSpec; totalSteps: number; rows: PreparedRows }> {
  const js = req.spec;
  if (!js) throw new InvalidArgumentError('spec', 'is required');
  if (js.objective && js.objective.$case !== 'sft') throw new InvalidArgumentError('spec.objective', `the adapter trainer runs SFT only, got ${js.objective.$case}`);
  const opts = req.options ?? { method: '', methodConfigJson: '', rank: 0, targetModules: [], evalFraction: 0, evalEvery: 0, checkpointEvery: 0, overlong: '' };
  const { name, raw } = methodOf(js, opts);
  const baseRef = js.baseModel?.name ?? '';
  const baseDir = resolveBaseDir(home, baseRef, js.baseModel?.version ?? '');
  const base = await readBase(baseDir);
  const training = trainingOf(js, base.config.maxPositionEmbeddings);
  const datasetPath = resolveDatasetPath(home, js.dataset?.uri ?? '');
  const partial: SftJobSpec = {
    baseRef, baseDir, outputName: outputNameOf(js, `${path.basename(baseRef)}-${name}`.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '')), datasetPath, method: name, methodConfig: raw, training, ...optionsOf(opts),
  };
  const rows = prepareRows(await readDataset(datasetPath), path.basename(datasetPath), base.tokenizer, base.config, partial);
  const totalSteps = totalStepsOf(partial, rows.train.length);
  const methodConfig = checkMethodConfig(name, raw, base.hfConfig, totalSteps);
  return { spec: { ...partial, methodConfig }, totalSteps, rows };
}
