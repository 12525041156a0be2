// Describe a Hugging Face model folder without loading its weights: architecture, parameter count,
// dtypes and size on disk, from config.json and the safetensors headers (8 + N bytes per file).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  checkWeights,
  DTYPE_BYTES,
  IGNORED_WEIGHTS,
  INDEX_FILE,
  modelConfigFromHf,
  numElements,
  parseShardIndex,
  SINGLE_FILE,
  tokenizerFromFiles,
  type DType,
  type ModelConfig,
  type WeightCheck,
} from '@tuneloop/model';
import { FilesError } from './atomic.ts';
import { readJsonFile } from './load-hf-folder.ts';
import { readSafetensorsHeaderFile } from './safetensors-file.ts';

export interface FolderInspection {
  dir: string;
  architecture: string;
  modelType: string;
  /** Parsed config, or null with `configError` when the architecture is not one tuneloop runs. */
  config: ModelConfig | null;
  configError?: string;
  parameters: number;
  tensors: number;
  dtypes: Record<string, { tensors: number; parameters: number; bytes: number }>;
  weightFiles: { file: string; bytes: number; tensors: number }[];
  sharded: boolean;
  /** Bytes of every file in the folder (weights, JSON, tokenizer, anything else). */
  sizeOnDisk: number;
  tokenizer: { model: string; vocabSize: number; hasChatTemplate: boolean; bosTokenId?: number; eosTokenId?: number } | null;
  weightCheck: WeightCheck | null;
}

export async function inspectHfFolder(dir: string): Promise<FolderInspection> {
  const rawConfig = await readJsonFile(dir, 'config.json');
  if (!rawConfig) throw new FilesError('not_found', `${dir}: no config.json (not a Hugging Face model folder)`);
  let config: ModelConfig | null = null;
  let configError: string | undefined;
  try {
    config = modelConfigFromHf(rawConfig);
  } catch (err) {
    configError = (err as Error).message;
  }
  const index = await readJsonFile(dir, INDEX_FILE);
  const files = index ? parseShardIndex(index).files : [SINGLE_FILE];
  const dtypes: FolderInspection['dtypes'] = {};
  const shapes = new Map<string, number[]>();
  const weightFiles: FolderInspection['weightFiles'] = [];
  let parameters = 0;
  for (const file of files) {
    const header = await readSafetensorsHeaderFile(join(dir, file)).catch((err) => {
      if (err instanceof FilesError && err.code === 'not_found' && !index) {
        throw new FilesError('not_found', `${dir}: no ${SINGLE_FILE} or ${INDEX_FILE} (only safetensors checkpoints are supported)`);
      }
      throw err;
    });
    weightFiles.push({ file, bytes: header.fileBytes, tensors: header.entries.length });
    for (const e of header.entries) {
      shapes.set(e.name, e.shape);
      const n = numElements(e.shape);
      const d = (dtypes[e.dtype] ??= { tensors: 0, parameters: 0, bytes: 0 });
      d.tensors++;
      d.bytes += n * DTYPE_BYTES[e.dtype as DType];
      if (!IGNORED_WEIGHTS.test(e.name)) {
        d.parameters += n;
        parameters += n;
      }
    }
  }
  let sizeOnDisk = 0;
  for (const name of await readdir(dir)) {
    const st = await stat(join(dir, name));
    if (st.isFile()) sizeOnDisk += st.size;
  }
  const tokenizerJson = await readJsonFile(dir, 'tokenizer.json');
  let tokenizer: FolderInspection['tokenizer'] = null;
  if (tokenizerJson) {
    const tok = tokenizerFromFiles({ tokenizerJson, tokenizerConfig: await readJsonFile(dir, 'tokenizer_config.json') });
    tokenizer = {
      model: String((tokenizerJson.model as { type?: unknown })?.type),
      vocabSize: tok.vocabSize,
      hasChatTemplate: tok.hasChatTemplate,
      ...(tok.bosTokenId !== undefined ? { bosTokenId: tok.bosTokenId } : {}),
      ...(tok.eosTokenId !== undefined ? { eosTokenId: tok.eosTokenId } : {}),
    };
  }
  const architectures = rawConfig.architectures;
  return {
    dir,
    architecture: Array.isArray(architectures) && typeof architectures[0] === 'string' ? architectures[0] : 'unknown',
    modelType: String(rawConfig.model_type ?? 'unknown'),
    config,
    ...(configError ? { configError } : {}),
    parameters,
    tensors: shapes.size,
    dtypes,
    weightFiles,
    sharded: index !== undefined,
    sizeOnDisk,
    tokenizer,
    weightCheck: config ? checkWeights(config, shapes) : null,
  };
}
