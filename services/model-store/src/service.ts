// model-store service: quantized base models, PEFT adapters and dataset versions (TRL JSONL) over tuneloop.v1.ModelStoreService,
// stored as content-addressed blobs + manifests on the file system or NATS (TUNELOOP_MODEL_STORE_BACKEND).
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import { publish, type Bus } from '@tuneloop/bus';
import { DatasetFormat, ModelStoreServiceService, QuantScheme, type BlobChunk } from '@tuneloop/proto';
import { DEFAULT_BLOCK_SIZE } from '@tuneloop/quant';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, type Handlers, type ServiceModule } from '@tuneloop/service-kit';
import type { Logger } from 'pino';
import { verifiedSource, readVerified, type StoreBackend } from './backend.ts';
import { Catalog, type AdapterManifest, type DatasetManifest, type ManifestFile, type ModelManifest } from './catalog.ts';
import { adapterInfo, datasetInfo, modelInfo, page, schemeFromWire } from './convert.ts';
import { checkDatasetEntries, checkDatasetFolder, datasetInfoFile, formatName } from './dataset-check.ts';
import { checkAdapterFolder, checkModelFolder } from './folder-check.ts';
import { openFsBackend } from './fs-backend.ts';
import { openNatsBackend } from './nats-backend.ts';
import { quantizeModelFiles } from './quantize-model.ts';
import { DEFAULT_KEEP } from './quantized-format.ts';
import { checkName, refFrom } from './refs.ts';
import { receiveUpload } from './upload.ts';

/** Fully-qualified gRPC name, as health checks and reflection know it. */
export const SERVICE_NAME = 'tuneloop.v1.ModelStoreService';

export type BackendKind = 'fs' | 'nats';
const DEFAULT_CHUNK = 256 * 1024;
const MAX_CHUNK = 4 * 1024 * 1024;

/** TUNELOOP_MODEL_STORE_BACKEND: 'fs' (default, under TUNELOOP_HOME) or 'nats' (JetStream object store). */
export function backendFromEnv(env: Record<string, string | undefined> = process.env): BackendKind {
  const v = env.TUNELOOP_MODEL_STORE_BACKEND ?? '';
  if (v === '' || v === 'fs') return 'fs';
  if (v === 'nats') return 'nats';
  throw new Error(`TUNELOOP_MODEL_STORE_BACKEND: must be one of fs, nats, got ${JSON.stringify(v)}`);
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

function checkChunkSize(n: number): number {
  if (n === 0) return DEFAULT_CHUNK;
  if (!Number.isInteger(n) || n < 1 || n > MAX_CHUNK) throw new InvalidArgumentError('chunk_size', `must be an integer 1-${MAX_CHUNK} (0: server default), got ${n}`);
  return n;
}

async function* downloadFile(backend: StoreBackend, files: ManifestFile[], path: string, offset: number, chunkSize: number, what: string): AsyncGenerator<{ chunk: BlobChunk }> {
  const f = files.find((x) => x.path === path);
  if (!f) throw new NotFoundError(`${what} has no file ${JSON.stringify(path)} (files: ${files.map((x) => x.path).join(', ')})`);
  if (!Number.isInteger(offset) || offset < 0 || offset > f.size) throw new InvalidArgumentError('offset', `must be an integer 0-${f.size} (the file size), got ${offset}`);
  for await (const c of readVerified(backend.blobs, f.sha256, { offset, chunkSize: checkChunkSize(chunkSize), label: `${what}/${path}` })) {
    yield { chunk: { path, offset: c.offset, data: Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength), sha256: c.last ? f.sha256 : '', last: c.last } };
  }
}

/** The handlers over one backend; `bus` publishes events.model.published / events.adapter.published. */
export function modelStoreHandlers(backend: StoreBackend, bus: Bus, logger: Logger): Handlers<typeof ModelStoreServiceService> {
  const catalog = new Catalog(backend);
  const gc = (written: string[]) => catalog.collectGarbage(written);

  async function announce(kind: 'model' | 'adapter', m: ModelManifest | AdapterManifest): Promise<void> {
    const id = `${m.name}@${m.version}`;
    const blobs = m.files.map((f) => backend.blobs.location(f.sha256));
    try {
      if (m.kind === 'model') {
        await publish(bus, 'events.model.published', {
          modelId: id, name: m.name, format: m.quantization === 'none' ? 'safetensors' : m.quantization, blobs,
          sizeBytes: m.files.reduce((a, f) => a + f.size, 0), createdAt: m.createdAt,
        }, { msgId: `model.published.${id}` });
      } else {
        await publish(bus, 'events.adapter.published', {
          adapterId: id, baseModelId: `${m.baseModel.name}@${m.baseModel.version}`, method: m.peftType.toLowerCase(), blobs,
          metrics: m.metrics, createdAt: m.createdAt,
        }, { msgId: `adapter.published.${id}` });
      }
    } catch (err) {
      logger.warn({ err, id }, `${kind} stored but events.${kind}.published could not be published`);
    }
  }

  async function commitModel(name: string, version: string | undefined, files: ManifestFile[], written: string[], extra: Partial<ModelManifest> = {}): Promise<ModelManifest> {
    try {
      const info = await checkModelFolder(backend.blobs, files);
      const m = await catalog.commit('models', name, version, (v): ModelManifest => ({
        kind: 'model', name, version: v, createdAt: new Date().toISOString(), files,
        configJson: info.configJson, parameterCount: info.parameterCount,
        quantization: info.quant?.scheme ?? 'none', blockSize: info.quant?.blockSize ?? 0, doubleQuant: info.quant?.doubleQuant ?? false,
        ...extra,
      }));
      await announce('model', m);
      return m;
    } catch (err) {
      await gc(written).catch(() => undefined);
      throw err;
    }
  }

  return {
    async uploadModel(requests, ctx) {
      const r = await receiveUpload(requests, backend.blobs, (h) => h.files, gc, ctx.signal);
      const ref = (() => {
        try {
          if (r.header.quantization !== QuantScheme.UNSPECIFIED) {
            throw new InvalidArgumentError('header.quantization', 'quantize on ingest is not supported: upload, then call QuantizeModel');
          }
          return refFrom(r.header.ref, 'header.ref');
        } catch (err) {
          void gc(r.written);
          throw err;
        }
      })();
      return { model: modelInfo(await commitModel(ref.name, ref.version, r.files, r.written)) };
    },

    async importModel(req) {
      const ref = refFrom(req.ref, 'ref');
      if (!isAbsolute(req.path)) throw new InvalidArgumentError('path', `must be an absolute path on the server, got ${JSON.stringify(req.path)}`);
      const names = await readdir(req.path).catch((err: NodeJS.ErrnoException) => {
        throw new InvalidArgumentError('path', `cannot read the folder ${req.path}: ${err.code ?? err.message}`);
      });
      const files: ManifestFile[] = [];
      const written: string[] = [];
      try {
        for (const n of names.sort()) {
          const p = join(req.path, n);
          const s = await stat(p);
          if (!s.isFile() || n.startsWith('.')) continue;
          const h = createHash('sha256');
          for await (const c of createReadStream(p)) h.update(c as Buffer);
          const sha = h.digest('hex');
          const w = await backend.blobs.put(sha, verifiedSource(createReadStream(p) as AsyncIterable<Uint8Array>, sha, s.size, `files[${n}]`));
          if (w.written) written.push(sha);
          files.push({ path: n, size: s.size, sha256: sha });
        }
      } catch (err) {
        await gc(written);
        throw err;
      }
      return { model: modelInfo(await commitModel(ref.name, ref.version, files, written)) };
    },

    async *getModel(req) {
      const m = await catalog.resolve('models', refFrom(req.ref, 'ref'));
      yield* downloadFile(backend, m.files, req.path, req.offset, req.chunkSize, `model ${m.name}@${m.version}`);
    },

    async describeModel(req) {
      return { model: modelInfo(await catalog.resolve('models', refFrom(req.ref, 'ref'))) };
    },

    async listModels(req) {
      const name = req.name ? checkName(req.name, 'name') : undefined;
      const all = (await catalog.list('models', name)).sort((a, b) => a.name.localeCompare(b.name) || b.createdAt.localeCompare(a.createdAt));
      const p = page(all, req.pageSize, req.pageToken);
      return { models: p.items.map(modelInfo), nextPageToken: p.next };
    },

    async deleteModel(req) {
      const m = await catalog.resolve('models', refFrom(req.ref, 'ref'));
      const users = (await catalog.list('adapters')).filter((a) => a.baseModel.name === m.name && a.baseModel.version === m.version);
      if (users.length > 0) {
        throw new FailedPreconditionError(`model ${m.name}@${m.version} is the base of ${users.map((a) => `${a.name}@${a.version}`).join(', ')}; delete those adapters first`);
      }
      await catalog.remove('models', m.name, m.version);
      await catalog.collectGarbage(m.files.map((f) => f.sha256));
      return {};
    },

    async quantizeModel(req, ctx) {
      const source = await catalog.resolve('models', refFrom(req.ref, 'ref'));
      const scheme = schemeFromWire(req.scheme, 'scheme');
      const blockSize = req.blockSize || DEFAULT_BLOCK_SIZE;
      if (req.doubleQuant && scheme !== 'nf4' && scheme !== 'fp4') throw new InvalidArgumentError('double_quant', `applies to nf4 and fp4 only, got scheme ${scheme}`);
      const keep = req.keepFullPrecision.length > 0 ? req.keepFullPrecision : DEFAULT_KEEP;
      keep.forEach((s, i) => {
        try {
          new RegExp(s);
        } catch (err) {
          throw new InvalidArgumentError(`keep_full_precision[${i}]`, `not a regular expression: ${(err as Error).message}`);
        }
      });
      const out = refFrom({ name: req.output?.name || source.name, version: req.output?.version }, 'output');
      const q = await quantizeModelFiles(backend.blobs, source, { scheme, blockSize, doubleQuant: req.doubleQuant, keep, evalText: req.evalText, evalWindow: req.evalWindow }, ctx.signal);
      const written: string[] = [];
      for (const f of q.files) {
        if (!f.bytes) continue;
        const w = await backend.blobs.put(f.entry.sha256, verifiedSource(once(f.bytes), f.entry.sha256, f.entry.size, `files[${f.entry.path}]`));
        if (w.written) written.push(f.entry.sha256);
      }
      const m = await commitModel(out.name, out.version, q.files.map((f) => f.entry), written, { source: { name: source.name, version: source.version } });
      const rep = q.report;
      return { model: modelInfo(m), report: { ...rep, snrDb: Number.isFinite(rep.snrDb) ? rep.snrDb : 0 } };
    },

    async uploadAdapter(requests, ctx) {
      const r = await receiveUpload(requests, backend.blobs, (h) => h.files, gc, ctx.signal);
      try {
        const ref = refFrom(r.header.ref, 'header.ref');
        const base = await catalog.resolve('models', refFrom(r.header.baseModel, 'header.base_model'));
        const info = await checkAdapterFolder(backend.blobs, r.files);
        for (const [k, v] of Object.entries(r.header.metrics)) {
          if (!Number.isFinite(v)) throw new InvalidArgumentError(`header.metrics[${k}]`, `must be a finite number, got ${v}`);
        }
        const a = await catalog.commit('adapters', ref.name, ref.version, (v): AdapterManifest => ({
          kind: 'adapter', name: ref.name, version: v, createdAt: new Date().toISOString(), files: r.files,
          baseModel: { name: base.name, version: base.version }, peftType: info.peftType,
          trainableParameters: info.trainableParameters, metrics: r.header.metrics,
        }));
        await announce('adapter', a);
        return { adapter: adapterInfo(a) };
      } catch (err) {
        await gc(r.written).catch(() => undefined);
        throw err;
      }
    },

    async *getAdapter(req) {
      const a = await catalog.resolve('adapters', refFrom(req.ref, 'ref'));
      yield* downloadFile(backend, a.files, req.path, req.offset, req.chunkSize, `adapter ${a.name}@${a.version}`);
    },

    async listAdapters(req) {
      const base = req.baseModelName ? checkName(req.baseModelName, 'base_model_name') : undefined;
      const all = (await catalog.list('adapters'))
        .filter((a) => !base || a.baseModel.name === base)
        .sort((a, b) => a.name.localeCompare(b.name) || b.createdAt.localeCompare(a.createdAt));
      const p = page(all, req.pageSize, req.pageToken);
      return { adapters: p.items.map(adapterInfo), nextPageToken: p.next };
    },

    async deleteAdapter(req) {
      const a = await catalog.resolve('adapters', refFrom(req.ref, 'ref'));
      await catalog.remove('adapters', a.name, a.version);
      await catalog.collectGarbage(a.files.map((f) => f.sha256));
      return {};
    },

    async uploadDataset(requests, ctx) {
      const r = await receiveUpload(requests, backend.blobs, (h) => checkDatasetEntries(h.files, h.description), gc, ctx.signal);
      const written = [...r.written];
      try {
        const ref = refFrom(r.header.ref, 'header.ref');
        const declared = r.header.format === DatasetFormat.UNSPECIFIED ? undefined : formatName(r.header.format);
        if (r.header.format !== DatasetFormat.UNSPECIFIED && !declared) throw new InvalidArgumentError('header.format', `unknown dataset format ${r.header.format}`);
        const info = await checkDatasetFolder(backend.blobs, r.files, declared);
        const gen = datasetInfoFile(info, r.files, r.header.description);
        const w = await backend.blobs.put(gen.entry.sha256, verifiedSource(once(gen.bytes), gen.entry.sha256, gen.entry.size, `files[${gen.entry.path}]`));
        if (w.written) written.push(gen.entry.sha256);
        const d = await catalog.commit('datasets', ref.name, ref.version, (v): DatasetManifest => ({
          kind: 'dataset', name: ref.name, version: v, createdAt: new Date().toISOString(), files: [...r.files, gen.entry],
          format: info.format, rows: info.rows, jsonlFiles: info.jsonlFiles, description: r.header.description,
        }));
        return { dataset: datasetInfo(d) };
      } catch (err) {
        await gc(written).catch(() => undefined);
        throw err;
      }
    },

    async *getDataset(req) {
      const d = await catalog.resolve('datasets', refFrom(req.ref, 'ref'));
      yield* downloadFile(backend, d.files, req.path, req.offset, req.chunkSize, `dataset ${d.name}@${d.version}`);
    },

    async describeDataset(req) {
      return { dataset: datasetInfo(await catalog.resolve('datasets', refFrom(req.ref, 'ref'))) };
    },

    async listDatasets(req) {
      const name = req.name ? checkName(req.name, 'name') : undefined;
      const all = (await catalog.list('datasets', name)).sort((a, b) => a.name.localeCompare(b.name) || b.createdAt.localeCompare(a.createdAt));
      const p = page(all, req.pageSize, req.pageToken);
      return { datasets: p.items.map(datasetInfo), nextPageToken: p.next };
    },

    async deleteDataset(req) {
      const d = await catalog.resolve('datasets', refFrom(req.ref, 'ref'));
      await catalog.remove('datasets', d.name, d.version);
      await catalog.collectGarbage(d.files.map((f) => f.sha256));
      return {};
    },
  };
}

/** The service module; `opts.backend` overrides TUNELOOP_MODEL_STORE_BACKEND (tests run both). */
export function createModelStore(opts: { backend?: BackendKind } = {}): ServiceModule {
  return {
    name: 'model-store',
    async start({ host, config, bus, logger }) {
      const kind = opts.backend ?? backendFromEnv();
      const backend = kind === 'nats' ? await openNatsBackend(bus) : await openFsBackend(config.home);
      logger.info({ backend: kind, ...(kind === 'fs' ? { home: config.home } : {}) }, 'model store backend');
      host.register(ModelStoreServiceService, modelStoreHandlers(backend, bus, logger), { unimplemented: 'issue 4 builds the model store' });
      return { stop: () => backend.close() };
    },
  };
}

export const modelStore: ServiceModule = createModelStore();
