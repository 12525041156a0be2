// Sharded checkpoints: model.safetensors.index.json ({ metadata.total_size, weight_map }) parsing and
// a shard plan in transformers' naming (model-00001-of-00003.safetensors).
import type { RawTensor } from '../safetensors/dtypes.ts';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

export class ShardIndexError extends Error {
  override name = 'ShardIndexError';
  readonly code = 'invalid_shard_index';
  readonly retryable = false;
}

/** One weights file: its name and the tensor names it holds, in file order. */
export interface ShardFile {
  file: string;
  names: string[];
}

export interface ShardIndex {
  weightMap: Map<string, string>;
  /** Files in order of first appearance in weight_map. */
  files: string[];
  metadata: Record<string, unknown>;
}

/** A shard file name must be a plain file name in the folder (no directories, no '..'). */
export function checkShardFileName(file: string): void {
  if (typeof file !== 'string' || !/^[A-Za-z0-9._-]+\.safetensors$/.test(file) || file.startsWith('.')) {
    throw new ShardIndexError(`${INDEX_FILE}: shard file name must be a plain *.safetensors name in the folder, got ${JSON.stringify(file)}`);
  }
}

export function parseShardIndex(raw: unknown): ShardIndex {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ShardIndexError(`${INDEX_FILE}: must be a JSON object`);
  const { weight_map: wm, metadata } = raw as Record<string, unknown>;
  if (!wm || typeof wm !== 'object' || Array.isArray(wm)) throw new ShardIndexError(`${INDEX_FILE}: weight_map must be an object of tensor name -> file`);
  const weightMap = new Map<string, string>();
  const files: string[] = [];
  for (const [name, file] of Object.entries(wm as Record<string, unknown>)) {
    checkShardFileName(file as string);
    weightMap.set(name, file as string);
    if (!files.includes(file as string)) files.push(file as string);
  }
  if (weightMap.size === 0) throw new ShardIndexError(`${INDEX_FILE}: weight_map is empty`);
  return { weightMap, files, metadata: metadata && typeof metadata === 'object' ? { ...(metadata as Record<string, unknown>) } : {} };
}

/**
 * Split tensors (in order) into files of at most maxShardBytes each (a tensor larger than the
 * bound gets a file of its own). One file -> model.safetensors; more -> model-0000i-of-0000n.
 */
export function planShards(tensors: [string, RawTensor][], maxShardBytes = Infinity): ShardFile[] {
  if (!(maxShardBytes > 0)) throw new Error(`maxShardBytes: must be > 0, got ${maxShardBytes}`);
  const groups: string[][] = [];
  let size = 0;
  for (const [name, t] of tensors) {
    const bytes = t.data.length;
    if (groups.length === 0 || (size + bytes > maxShardBytes && groups[groups.length - 1].length > 0)) {
      groups.push([]);
      size = 0;
    }
    groups[groups.length - 1].push(name);
    size += bytes;
  }
  if (groups.length <= 1) return [{ file: SINGLE_FILE, names: groups[0] ?? [] }];
  const pad = (i: number) => String(i).padStart(5, '0');
  return groups.map((names, i) => ({ file: `model-${pad(i + 1)}-of-${pad(groups.length)}.safetensors`, names }));
}

/** The index JSON for a multi-file layout (weight_map sorted by name, as transformers writes it). */
export function shardIndexJson(shards: ShardFile[], tensors: Map<string, RawTensor>): Record<string, unknown> {
  let total = 0;
  const entries: [string, string][] = [];
  for (const s of shards) {
    for (const n of s.names) {
      total += tensors.get(n)!.data.length;
      entries.push([n, s.file]);
    }
  }
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { metadata: { total_size: total }, weight_map: Object.fromEntries(entries) };
}
