// Checks an uploaded folder before its manifest is committed: a model needs a valid config.json and
// safetensors files whose headers parse and cover the file; an adapter needs adapter_config.json
// (with peft_type) and adapter_model.safetensors. Headers are read from the blobs, not whole files.
import { INDEX_FILE, modelConfigFromHf, numElements, parseHeader, parseShardIndex, readHeaderLength, SINGLE_FILE, type SafetensorsHeader } from '@tuneloop/model';
import { InvalidArgumentError } from '@tuneloop/service-kit';
import { readVerified, type BlobStore } from './backend.ts';
import type { ManifestFile } from './catalog.ts';
import { parameterCountOf, readQuantMetadata, type QuantMetadata } from './quantized-format.ts';

const MAX_JSON_BYTES = 64 * 1024 * 1024;

/** The first `n` bytes of a blob (fewer when it is shorter). */
async function readPrefix(blobs: BlobStore, sha: string, n: number): Promise<Uint8Array> {
  const src = await blobs.read(sha);
  if (!src) throw new InvalidArgumentError('files', `blob ${sha} is missing`);
  const parts: Uint8Array[] = [];
  let got = 0;
  for await (const c of src) {
    parts.push(c);
    got += c.length;
    if (got >= n) break;
  }
  return Buffer.concat(parts).subarray(0, n);
}

/** A plain Uint8Array view (Buffer.slice does not copy, and safetensors decoding relies on slice copying). */
export function plainBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** A whole blob, verified (DATA_LOSS on mismatch). */
export async function readBlob(blobs: BlobStore, file: ManifestFile): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of readVerified(blobs, file.sha256, { label: file.path, chunkSize: 4 * 1024 * 1024 })) parts.push(c.data);
  return plainBytes(Buffer.concat(parts));
}

async function readJson(blobs: BlobStore, f: ManifestFile): Promise<unknown> {
  if (f.size > MAX_JSON_BYTES) throw new InvalidArgumentError(`files[${f.path}]`, `must be at most ${MAX_JSON_BYTES} bytes, got ${f.size}`);
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await readBlob(blobs, f)));
  } catch (err) {
    throw new InvalidArgumentError(`files[${f.path}]`, `is not valid UTF-8 JSON: ${(err as Error).message}`);
  }
}

/** Parses the safetensors header of a stored file; INVALID_ARGUMENT naming the file otherwise. */
export async function safetensorsHeader(blobs: BlobStore, f: ManifestFile): Promise<SafetensorsHeader> {
  try {
    const n = readHeaderLength(await readPrefix(blobs, f.sha256, 8));
    if (8 + n > f.size) throw new Error(`header length ${n} exceeds the file size ${f.size}`);
    const bytes = await readPrefix(blobs, f.sha256, 8 + n);
    return parseHeader(bytes.subarray(8), f.size - 8 - n);
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err;
    throw new InvalidArgumentError(`files[${f.path}]`, `not a valid safetensors file: ${(err as Error).message}`);
  }
}

export interface ModelFolderInfo {
  configJson: string;
  parameterCount: number;
  quant: QuantMetadata | null;
}

export async function checkModelFolder(blobs: BlobStore, files: ManifestFile[]): Promise<ModelFolderInfo> {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const cfg = byPath.get('config.json');
  if (!cfg) throw new InvalidArgumentError('header.files', 'a model folder needs config.json');
  const rawConfig = await readJson(blobs, cfg);
  try {
    modelConfigFromHf(rawConfig);
  } catch (err) {
    throw new InvalidArgumentError('files[config.json]', (err as Error).message.replace(/^config\.json: /, ''));
  }
  let shards: string[];
  const index = byPath.get(INDEX_FILE);
  if (index) {
    try {
      shards = parseShardIndex(await readJson(blobs, index)).files;
    } catch (err) {
      throw new InvalidArgumentError(`files[${INDEX_FILE}]`, (err as Error).message);
    }
  } else {
    shards = [SINGLE_FILE];
  }
  let parameterCount = 0;
  let quant: QuantMetadata | null = null;
  for (const s of shards) {
    const f = byPath.get(s);
    if (!f) throw new InvalidArgumentError('header.files', `a model folder needs ${s}`);
    const h = await safetensorsHeader(blobs, f);
    let meta: QuantMetadata | null;
    try {
      meta = readQuantMetadata(h.metadata);
    } catch (err) {
      throw new InvalidArgumentError(`files[${s}]`, (err as Error).message);
    }
    quant ??= meta;
    parameterCount += parameterCountOf(h.entries, meta);
  }
  return { configJson: JSON.stringify(rawConfig), parameterCount, quant };
}

export interface AdapterFolderInfo {
  peftType: string;
  trainableParameters: number;
}

export async function checkAdapterFolder(blobs: BlobStore, files: ManifestFile[]): Promise<AdapterFolderInfo> {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const cfg = byPath.get('adapter_config.json');
  if (!cfg) throw new InvalidArgumentError('header.files', 'a PEFT adapter folder needs adapter_config.json');
  const raw = (await readJson(blobs, cfg)) as { peft_type?: unknown; tuneloop_method?: unknown } | null;
  // full and partial fine-tuning write the trained weights with tuneloop's own adapter_config.json (no peft_type:
  // PEFT has none for them): {"tuneloop_method": "full" | "partial"}; they are stored as peft type FULL / PARTIAL
  const own = raw && typeof raw === 'object' && (raw.tuneloop_method === 'full' || raw.tuneloop_method === 'partial') ? raw.tuneloop_method.toUpperCase() : undefined;
  if (!own && (!raw || typeof raw !== 'object' || typeof raw.peft_type !== 'string' || raw.peft_type === '')) {
    throw new InvalidArgumentError('files[adapter_config.json]', 'must be a JSON object with a string peft_type (or tuneloop_method "full" / "partial")');
  }
  const weights = byPath.get('adapter_model.safetensors');
  if (!weights) throw new InvalidArgumentError('header.files', 'a PEFT adapter folder needs adapter_model.safetensors');
  const h = await safetensorsHeader(blobs, weights);
  return { peftType: own ?? (raw!.peft_type as string), trainableParameters: h.entries.reduce((a, e) => a + numElements(e.shape), 0) };
}
