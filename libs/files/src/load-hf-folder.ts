// Load a Hugging Face model folder: config.json, model.safetensors or model.safetensors.index.json +
// shards, tokenizer.json / tokenizer_config.json, generation_config.json. Tensors keep HF names,
// dtypes and bytes exactly; everything is validated before anything is returned.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  assertWeightsMatch,
  generationConfigFromHf,
  INDEX_FILE,
  modelConfigFromHf,
  parseShardIndex,
  SINGLE_FILE,
  tokenizerFromFiles,
  type GenerationConfig,
  type ModelConfig,
  type RawTensor,
  type ShardFile,
  type Tokenizer,
} from '@tuneloop/model';
import { FilesError, recoverFolder } from './atomic.ts';
import { readSafetensorsFile } from './safetensors-file.ts';

/** How the weights were laid out on disk, so a save can reproduce the same files. */
export interface WeightsLayout {
  files: ShardFile[];
  /** Each file's `__metadata__` (e.g. { format: 'pt' }), by file name. */
  metadata: Record<string, Record<string, string> | null>;
  sharded: boolean;
}

export interface HfFolder {
  dir: string;
  config: ModelConfig;
  /** HF tensor name -> stored tensor (dtype, shape, raw little-endian bytes). */
  weights: Map<string, RawTensor>;
  tokenizer: Tokenizer | null;
  generationConfig: GenerationConfig | null;
  layout: WeightsLayout;
  /** The JSON files as read (fields tuneloop does not model survive a save). */
  raw: {
    config: Record<string, unknown>;
    tokenizerJson?: Record<string, unknown>;
    tokenizerConfig?: Record<string, unknown>;
    generationConfig?: Record<string, unknown>;
    index?: Record<string, unknown>;
  };
}

export interface LoadHfFolderOptions {
  /** Check tensor names and shapes against config.json (default true). */
  checkWeights?: boolean;
}

/** Parsed JSON of `dir/name`, or undefined when the file does not exist. */
export async function readJsonFile(dir: string, name: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, name), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FilesError('io_error', `${join(dir, name)}: ${(err as Error).message}`, true, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FilesError('invalid_file', `${join(dir, name)}: invalid JSON: ${(err as Error).message}`, false, { cause: err });
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new FilesError('invalid_file', `${join(dir, name)}: must hold a JSON object`);
  }
  return json as Record<string, unknown>;
}

async function loadWeights(dir: string): Promise<{ weights: Map<string, RawTensor>; layout: WeightsLayout; index?: Record<string, unknown> }> {
  const index = await readJsonFile(dir, INDEX_FILE);
  const weights = new Map<string, RawTensor>();
  const layout: WeightsLayout = { files: [], metadata: {}, sharded: index !== undefined };
  if (!index) {
    const parsed = await readSafetensorsFile(join(dir, SINGLE_FILE)).catch((err) => {
      if (err instanceof FilesError && err.code === 'not_found') {
        throw new FilesError('not_found', `${dir}: no ${SINGLE_FILE} or ${INDEX_FILE} (only safetensors checkpoints are supported)`);
      }
      throw err;
    });
    layout.files.push({ file: SINGLE_FILE, names: [...parsed.tensors.keys()] });
    layout.metadata[SINGLE_FILE] = parsed.metadata;
    return { weights: parsed.tensors, layout };
  }
  const { weightMap, files } = parseShardIndex(index);
  for (const file of files) {
    const parsed = await readSafetensorsFile(join(dir, file));
    const names: string[] = [];
    for (const [name, t] of parsed.tensors) {
      const listed = weightMap.get(name);
      if (listed !== file) {
        throw new FilesError('invalid_file', `${join(dir, file)}: tensor '${name}' is ${listed ? `listed under ${listed}` : 'not listed'} in ${INDEX_FILE}`);
      }
      if (weights.has(name)) throw new FilesError('invalid_file', `${join(dir, file)}: tensor '${name}' appears in two shards`);
      weights.set(name, t);
      names.push(name);
    }
    layout.files.push({ file, names });
    layout.metadata[file] = parsed.metadata;
  }
  for (const [name, file] of weightMap) {
    if (!weights.has(name)) throw new FilesError('invalid_file', `${join(dir, file)}: tensor '${name}' listed in ${INDEX_FILE} is missing`);
  }
  return { weights, layout, index };
}

/** Load a Hugging Face model folder (Llama / Qwen2 family, safetensors weights). */
export async function loadHfFolder(dir: string, opts: LoadHfFolderOptions = {}): Promise<HfFolder> {
  await recoverFolder(dir); // a save killed between its two renames leaves the folder beside its name
  const rawConfig = await readJsonFile(dir, 'config.json');
  if (!rawConfig) throw new FilesError('not_found', `${dir}: no config.json (not a Hugging Face model folder)`);
  const config = modelConfigFromHf(rawConfig);
  const { weights, layout, index } = await loadWeights(dir);
  if (opts.checkWeights ?? true) {
    assertWeightsMatch(config, new Map([...weights].map(([n, t]) => [n, t.shape])));
  }
  const tokenizerJson = await readJsonFile(dir, 'tokenizer.json');
  const tokenizerConfig = await readJsonFile(dir, 'tokenizer_config.json');
  const tokenizer = tokenizerJson ? tokenizerFromFiles({ tokenizerJson, tokenizerConfig }) : null;
  const rawGeneration = await readJsonFile(dir, 'generation_config.json');
  const generationConfig = rawGeneration ? generationConfigFromHf(rawGeneration) : null;
  return {
    dir,
    config,
    weights,
    tokenizer,
    generationConfig,
    layout,
    raw: { config: rawConfig, tokenizerJson, tokenizerConfig, generationConfig: rawGeneration, index },
  };
}
