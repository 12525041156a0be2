// Everything an SFT job checks before training: the base model (a folder or a model-store version; config.json +
// tokenizer, no weights), the init adapter (fits the base, same method), the dataset file (a path or store://;
// parsed and tokenized), the method config against the model. Used by StartTraining (so bad input fails fast with
// INVALID_ARGUMENT / NOT_FOUND naming the field) and again by the worker that trains.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { createRng } from '@tuneloop/engine';
import { DatasetError, parseSftJsonl } from '@tuneloop/datasets';
import { readBase } from '@tuneloop/jobs';
import type { ModelConfig, Tokenizer } from '@tuneloop/model';
import type { StartTrainingRequest } from '@tuneloop/proto';
import { InvalidArgumentError } from '@tuneloop/service-kit';
export { readBase, resolveBaseDir } from '@tuneloop/jobs';
import { checkInitMethod, checkMethodConfig, methodOf, optionsOf, outputNameOf, trainingOf, type SftJobSpec } from './job-spec.ts';
import { MAX_DATASET_BYTES, resolveBase, resolveDataset, resolveInitAdapter, type StoreTarget } from './sources.ts';
import { SftLoop } from './train/sft-loop.ts';
import { encodeSftExample, splitRows, SftDataError, type SftRow } from './train/sft-data.ts';

export { MAX_DATASET_BYTES } from './sources.ts';

/** Dataset file of a path URI: absolute or relative to TUNELOOP_HOME (store:// URIs: resolveDataset). */
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

/**
 * Checks a StartTrainingRequest completely (model, init adapter, method, dataset) and returns the job spec.
 * `storeTarget`: the model store for store refs and store:// datasets (none: local folders and files only).
 */
export async function validateRequest(home: string, req: StartTrainingRequest, storeTarget?: StoreTarget): Promise<{ spec: SftJobSpec; totalSteps: number; rows: PreparedRows }> {
  const js = req.spec;
  if (!js) throw new InvalidArgumentError('spec', 'is required');
  if (js.objective && js.objective.$case !== 'sft') throw new InvalidArgumentError('spec.objective', `the adapter trainer runs SFT only, got ${js.objective.$case}`);
  const opts = req.options ?? { method: '', methodConfigJson: '', rank: 0, targetModules: [], evalFraction: 0, evalEvery: 0, checkpointEvery: 0, overlong: '' };
  const initRef = js.initAdapter && (js.initAdapter.name || js.initAdapter.version) ? { name: js.initAdapter.name, version: js.initAdapter.version } : undefined;
  // without an init adapter the request names the method; with one, the adapter does (checked once it is read)
  const requested = initRef ? undefined : methodOf(js, opts);
  const baseRef = js.baseModel?.name ?? '';
  const baseFolder = await resolveBase(home, { name: baseRef, version: js.baseModel?.version ?? '' }, storeTarget);
  const base = await readBase(baseFolder.dir);
  const init = initRef ? await resolveInitAdapter(home, initRef, storeTarget, base) : undefined;
  if (init) checkInitMethod(js, opts, init.method);
  const name = init ? init.method : requested!.name;
  const raw = init ? init.config : requested!.raw;
  const training = trainingOf(js, base.config.maxPositionEmbeddings);
  const dataset = await resolveDataset(home, js.dataset?.uri ?? '', storeTarget);
  const target = storeTarget?.();
  const partial: SftJobSpec = {
    baseRef,
    baseDir: baseFolder.dir,
    ...(baseFolder.stored ? { baseStored: baseFolder.stored } : {}),
    ...(init ? { initAdapter: { ref: initRef!, ...(init.stored ? { stored: init.stored } : {}) } } : {}),
    outputName: outputNameOf(js, `${path.basename(baseRef)}-${name}`.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '')),
    datasetPath: dataset.path,
    ...(dataset.store ? { datasetStore: dataset.store } : {}),
    ...(target ? { storeTarget: target } : {}),
    method: name,
    methodConfig: raw,
    training,
    ...optionsOf(opts),
  };
  const rows = prepareRows(await readDataset(dataset.path), dataset.label, base.tokenizer, base.config, partial);
  const totalSteps = totalStepsOf(partial, rows.train.length);
  // an init adapter's config is the one it was trained with (loaded from its files): nothing to re-derive
  const methodConfig = init ? raw : checkMethodConfig(name, raw, base.hfConfig, totalSteps);
  return { spec: { ...partial, methodConfig }, totalSteps, rows };
}
