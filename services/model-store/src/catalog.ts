// The catalog over a backend: model and adapter manifests (files by content hash, metadata), version
// resolution (name@latest), create with automatic versions, and garbage collection of unreferenced blobs.
import { z } from 'zod';
import { AlreadyExistsError, NotFoundError } from '@tuneloop/service-kit';
import type { ManifestKind, StoreBackend } from './backend.ts';
import { compareVersions, formatRef, nextVersion, type Ref } from './refs.ts';

const FileSchema = z.object({ path: z.string(), size: z.number().int().nonnegative(), sha256: z.string() });
export type ManifestFile = z.infer<typeof FileSchema>;
const RefSchema = z.object({ name: z.string(), version: z.string() });
export type ResolvedRef = z.infer<typeof RefSchema>;

export const ModelManifestSchema = z.object({
  kind: z.literal('model'),
  name: z.string(),
  version: z.string(),
  createdAt: z.string(),
  files: z.array(FileSchema),
  configJson: z.string(),
  parameterCount: z.number().int().nonnegative(),
  /** 'none' or a libs/quant scheme */
  quantization: z.string(),
  blockSize: z.number().int().nonnegative().default(0),
  doubleQuant: z.boolean().default(false),
  source: RefSchema.optional(),
});
export type ModelManifest = z.infer<typeof ModelManifestSchema>;

export const AdapterManifestSchema = z.object({
  kind: z.literal('adapter'),
  name: z.string(),
  version: z.string(),
  createdAt: z.string(),
  files: z.array(FileSchema),
  baseModel: RefSchema,
  peftType: z.string(),
  trainableParameters: z.number().int().nonnegative(),
  metrics: z.record(z.string(), z.number()).default({}),
});
export type AdapterManifest = z.infer<typeof AdapterManifestSchema>;

export const DatasetManifestSchema = z.object({
  kind: z.literal('dataset'),
  name: z.string(),
  version: z.string(),
  createdAt: z.string(),
  /** the JSONL files, README.md when uploaded, and the generated dataset_info.json */
  files: z.array(FileSchema),
  /** a dataset-check.ts format name (preference, unpaired, prompt_completion, messages, prompts) */
  format: z.string(),
  rows: z.number().int().nonnegative(),
  jsonlFiles: z.array(z.object({ path: z.string(), rows: z.number().int().nonnegative() })),
  description: z.string().default(''),
});
export type DatasetManifest = z.infer<typeof DatasetManifestSchema>;

type Manifest = ModelManifest | AdapterManifest | DatasetManifest;
const schemaOf = { models: ModelManifestSchema, adapters: AdapterManifestSchema, datasets: DatasetManifestSchema } as const;
const noun = { models: 'model', adapters: 'adapter', datasets: 'dataset' } as const;

function newestFirst(a: Manifest, b: Manifest): number {
  return b.createdAt.localeCompare(a.createdAt) || compareVersions(b.version, a.version);
}

export class Catalog {
  constructor(readonly backend: StoreBackend) {}

  async list(kind: 'models', name?: string): Promise<ModelManifest[]>;
  async list(kind: 'adapters', name?: string): Promise<AdapterManifest[]>;
  async list(kind: 'datasets', name?: string): Promise<DatasetManifest[]>;
  async list(kind: ManifestKind, name?: string): Promise<Manifest[]> {
    const docs = await this.backend.manifests.list(kind, name);
    return docs.map((d) => schemaOf[kind].parse(JSON.parse(d)) as Manifest).sort(newestFirst);
  }

  /** The manifest of `ref` (the newest version when ref.version is undefined); NOT_FOUND otherwise. */
  async resolve(kind: 'models', ref: Ref): Promise<ModelManifest>;
  async resolve(kind: 'adapters', ref: Ref): Promise<AdapterManifest>;
  async resolve(kind: 'datasets', ref: Ref): Promise<DatasetManifest>;
  async resolve(kind: ManifestKind, ref: Ref): Promise<Manifest> {
    if (ref.version !== undefined) {
      const doc = await this.backend.manifests.get(kind, ref.name, ref.version);
      if (doc === null) throw new NotFoundError(`${noun[kind]} ${formatRef(ref)} not found`);
      return schemaOf[kind].parse(JSON.parse(doc)) as Manifest;
    }
    const all = await this.list(kind as 'models', ref.name);
    if (all.length === 0) throw new NotFoundError(`${noun[kind]} ${ref.name} not found (no versions)`);
    return all[0];
  }

  /**
   * Commits a manifest: with `version` given, ALREADY_EXISTS when taken; without, the next numeric
   * version (retrying if a concurrent create took it).
   */
  async commit<M extends Manifest>(kind: ManifestKind, name: string, version: string | undefined, build: (version: string) => M): Promise<M> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const v = version ?? nextVersion((await this.list(kind as 'models', name)).map((m) => m.version));
      const m = build(v);
      if (await this.backend.manifests.create(kind, name, v, JSON.stringify(m))) return m;
      if (version !== undefined) throw new AlreadyExistsError(`${noun[kind]} ${name}@${v} already exists`);
    }
    throw new AlreadyExistsError(`${noun[kind]} ${name}: could not claim a new version (too many concurrent creates)`);
  }

  async remove(kind: ManifestKind, name: string, version: string): Promise<boolean> {
    return this.backend.manifests.delete(kind, name, version);
  }

  /** Deletes blobs among `candidates` (default: all) that no manifest references; returns how many. */
  async collectGarbage(candidates?: string[]): Promise<number> {
    const used = new Set<string>();
    for (const m of [...(await this.list('models')), ...(await this.list('adapters')), ...(await this.list('datasets'))]) for (const f of m.files) used.add(f.sha256);
    let n = 0;
    for (const sha of candidates ?? (await this.backend.blobs.list())) {
      if (!used.has(sha) && (await this.backend.blobs.delete(sha))) n++;
    }
    return n;
  }
}
