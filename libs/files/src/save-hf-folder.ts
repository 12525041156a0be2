// Save a Hugging Face model folder (config.json, model.safetensors or index + shards, tokenizer files,
// generation_config.json), atomically. Stored tensors are written byte-for-byte; tfjs tensors are
// converted to the requested dtype.
import {
  generationConfigToHf,
  INDEX_FILE,
  modelConfigToHf,
  planShards,
  rawFromTensor,
  serializeSafetensorsParts,
  shardIndexJson,
  validateModelConfig,
  type DType,
  type GenerationConfig,
  type ModelConfig,
  type RawTensor,
  type Tokenizer,
} from '@tuneloop/model';
import { writeFolderAtomic, FilesError, type FileContent } from './atomic.ts';
import type { WeightsLayout } from './load-hf-folder.ts';

/** What saveHfFolder accepts per tensor: stored bytes, or anything with tfjs's dataSync/shape. */
export type WeightInput = RawTensor | { shape: number[]; dtype: string; dataSync(): ArrayLike<number> };

export interface SaveHfFolderOptions {
  config: ModelConfig;
  weights: Map<string, WeightInput>;
  tokenizer?: Tokenizer | null;
  generationConfig?: Partial<GenerationConfig> | null;
  /** Split weights into files of at most this many bytes (default 5 GB, as transformers' save_pretrained). */
  maxShardBytes?: number;
  /** Reproduce a loaded folder's files (same tensors per file, same order, same metadata). */
  layout?: WeightsLayout;
  /** config.json as read; fields tuneloop does not model are written back. */
  rawConfig?: Record<string, unknown>;
  /** dtype for tfjs tensors (stored tensors keep theirs); default F32. */
  dtype?: DType | ((name: string) => DType);
  /** More files to write into the folder (e.g. README.md). */
  extraFiles?: Record<string, string | Uint8Array>;
}

function isRaw(w: WeightInput): w is RawTensor {
  return (w as RawTensor).data instanceof Uint8Array && typeof (w as RawTensor).dtype === 'string' && !('dataSync' in w);
}

function torchDtypeOf(weights: Map<string, RawTensor>): 'float32' | 'float16' | 'bfloat16' {
  const floats = new Set([...weights.values()].map((t) => t.dtype).filter((d) => d === 'F32' || d === 'F16' || d === 'BF16'));
  if (floats.size === 1 && floats.has('BF16')) return 'bfloat16';
  if (floats.size === 1 && floats.has('F16')) return 'float16';
  return 'float32';
}

/** transformers' default max_shard_size ("5GB"). */
export const DEFAULT_MAX_SHARD_BYTES = 5_000_000_000;

const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';

/** The files of a model folder, in memory (name -> content). */
export function hfFolderFiles(opts: SaveHfFolderOptions): Map<string, FileContent> {
  validateModelConfig(opts.config);
  const weights = new Map<string, RawTensor>();
  for (const [name, w] of opts.weights) {
    if (isRaw(w)) weights.set(name, w);
    else if (typeof (w as { dataSync?: unknown }).dataSync === 'function') {
      const dtype = typeof opts.dtype === 'function' ? opts.dtype(name) : (opts.dtype ?? 'F32');
      weights.set(name, rawFromTensor(w as Parameters<typeof rawFromTensor>[0], dtype));
    } else throw new FilesError('refused', `weights.${name}: must be a stored tensor { dtype, shape, data } or a tfjs tensor`);
  }
  let shards = opts.layout?.files;
  if (shards) {
    const listed = new Set(shards.flatMap((s) => s.names));
    const extra = [...weights.keys()].filter((n) => !listed.has(n));
    const gone = [...listed].filter((n) => !weights.has(n));
    if (extra.length || gone.length) {
      throw new FilesError('refused', `layout: does not match weights (not in layout: ${extra.slice(0, 3).join(', ') || '-'}; missing weights: ${gone.slice(0, 3).join(', ') || '-'})`);
    }
  } else {
    shards = planShards([...weights], opts.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES);
  }
  const files = new Map<string, FileContent>();
  files.set('config.json', json(modelConfigToHf(opts.config, opts.rawConfig ?? {}, torchDtypeOf(weights))));
  for (const s of shards) {
    const metadata = opts.layout?.metadata[s.file] ?? { format: 'pt' };
    files.set(s.file, serializeSafetensorsParts(s.names.map((n) => [n, weights.get(n)!] as [string, RawTensor]), metadata));
  }
  if (shards.length > 1 || opts.layout?.sharded) files.set(INDEX_FILE, json(shardIndexJson(shards, weights)));
  if (opts.tokenizer) {
    files.set('tokenizer.json', json(opts.tokenizer.toJSON()));
    files.set('tokenizer_config.json', json(opts.tokenizer.toConfigJSON()));
  }
  if (opts.generationConfig) files.set('generation_config.json', json(generationConfigToHf(opts.generationConfig)));
  for (const [name, content] of Object.entries(opts.extraFiles ?? {})) {
    if (files.has(name)) throw new FilesError('refused', `extraFiles.${name}: clashes with a model file`);
    files.set(name, content);
  }
  return files;
}

/**
 * Write a Hugging Face model folder at `dir`, atomically: the folder appears complete or not at all.
 * An existing `dir` is replaced only if it is empty or a model folder (holds config.json).
 */
export async function saveHfFolder(dir: string, opts: SaveHfFolderOptions): Promise<void> {
  const files = hfFolderFiles(opts);
  await writeFolderAtomic(dir, files, (names) => names.includes('config.json'));
}
