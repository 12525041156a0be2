// Model store acceptance suite over a real gRPC socket and real NATS, run once per backend (fs, nats):
// chunked 50 MB round trip with a resumed download, dedup, corruption -> DATA_LOSS, bad uploads ->
// INVALID_ARGUMENT with nothing visible, versions, events, adapters, and quantize -> load back.
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import * as tf from '@tensorflow/tfjs-core';
import { wireSubject } from '@tuneloop/bus';
import { Objm } from '@nats-io/obj';
import { QuantScheme, QuantizeModelRequest, type UploadModelRequest } from '@tuneloop/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseOf } from '../src/client.ts';
import { loadStoredModel } from '../src/load-quantized.ts';
import { adapterFolder, bigFolder, tempDir, tinyLlamaFolder } from './fixtures/folders.ts';
import { download, entriesOf, startHarness, unary, uploadAdapter, uploadModel, type Harness } from './fixtures/harness.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function expectCode(p: Promise<unknown>, code: status): Promise<ServiceError> {
  const err = (await p.then(() => null, (e: ServiceError) => e)) as ServiceError | null;
  expect(err, 'expected an error').not.toBeNull();
  expect(status[err!.code], err!.details).toBe(status[code]);
  return err!;
}

describe.each(['fs', 'nats'] as const)('model store on the %s backend', (kind) => {
  let h: Harness;
  let work: string;
  let tiny: string;
  const list = (name = '') => unary(h.client.listModels.bind(h.client) as never, { pageSize: 0, pageToken: '', name }) as Promise<{ models: { ref: { name: string; version: string } }[] }>;

  beforeAll(async () => {
    work = await tempDir();
    h = await startHarness(kind, join(work, 'home'));
    tiny = join(work, 'tiny');
    await tinyLlamaFolder(tiny);
  });
  afterAll(async () => {
    await h?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('round-trips a 50 MB model in chunks and resumes a download from an offset', async () => {
    const dir = join(work, 'big');
    await bigFolder(dir, 50);
    const original = await readFile(join(dir, 'model.safetensors'));
    const m = await uploadModel(h.client, dir, 'big');
    expect(m.ref).toEqual({ name: 'big', version: '1' });
    expect(m.sizeBytes).toBeGreaterThan(50 * 1024 * 1024);
    const full = await download(h.client, { name: 'big', version: 'latest' }, 'model.safetensors', 0, 1024 * 1024);
    expect(full.bytes.length).toBe(original.length);
    expect(full.lastSeen).toBe(true);
    expect(full.sha).toBe(sha(original));
    expect(sha(full.bytes)).toBe(sha(original));
    const offset = 20 * 1024 * 1024 + 123;
    const tail = await download(h.client, { name: 'big', version: '1' }, 'model.safetensors', offset);
    expect(tail.bytes.length).toBe(original.length - offset);
    expect(Buffer.concat([original.subarray(0, offset), tail.bytes]).equals(original)).toBe(true);
    await unary(h.client.deleteModel.bind(h.client) as never, { ref: { name: 'big', version: '1' } });
    expect(await h.backend.blobs.size(sha(original))).toBeNull();
  }, 120_000);

  it('stores identical files once, versions name@N, resolves @latest and refuses a taken version', async () => {
    const before = (await h.backend.blobs.list()).length;
    const v1 = await uploadModel(h.client, tiny, 'tiny');
    const afterFirst = (await h.backend.blobs.list()).length;
    const v2 = await uploadModel(h.client, tiny, 'tiny');
    expect([v1.ref?.version, v2.ref?.version]).toEqual(['1', '2']);
    expect((await h.backend.blobs.list()).length).toBe(afterFirst);
    expect(afterFirst - before).toBe(v1.files.length);
    const latest = (await unary(h.client.describeModel.bind(h.client) as never, { ref: { name: 'tiny', version: 'latest' } })) as { model: { ref: unknown } };
    expect(latest.model.ref).toEqual({ name: 'tiny', version: '2' });
    await expectCode(uploadModel(h.client, tiny, 'tiny', '2'), status.ALREADY_EXISTS);
    await expectCode(unary(h.client.describeModel.bind(h.client) as never, { ref: { name: 'tiny', version: '9' } }), status.NOT_FOUND);
    await unary(h.client.deleteModel.bind(h.client) as never, { ref: { name: 'tiny', version: '2' } });
    expect((await list('tiny')).models.map((x) => x.ref.version)).toEqual(['1']);
    expect((await h.backend.blobs.list()).length).toBe(afterFirst); // v1 still uses every blob
  });

  it('imports a folder from a server path (ImportModel), sharing blobs with an upload of the same files', async () => {
    const blobs = (await h.backend.blobs.list()).length;
    const res = (await unary(h.client.importModel.bind(h.client) as never, { ref: { name: 'imported', version: 'v1' }, path: tiny })) as { model: { ref: unknown; files: { path: string }[]; parameterCount: number } };
    expect(res.model.ref).toEqual({ name: 'imported', version: 'v1' });
    expect(res.model.files.map((f) => f.path)).toContain('model.safetensors');
    expect(res.model.parameterCount).toBeGreaterThan(0);
    expect((await h.backend.blobs.list()).length).toBe(blobs); // 'tiny' uploaded the same files already
    await expectCode(unary(h.client.importModel.bind(h.client) as never, { ref: { name: 'imported' }, path: 'relative/dir' }), status.INVALID_ARGUMENT);
    const paged = (await unary(h.client.listModels.bind(h.client) as never, { pageSize: 1, pageToken: '', name: '' })) as { models: unknown[]; nextPageToken: string };
    expect(paged.models.length).toBe(1);
    expect(paged.nextPageToken).toBe('1');
  });

  it('publishes events.model.published after the manifest is committed', async () => {
    const sub = h.bus.nc.subscribe(wireSubject(h.bus.names, 'events.model.published'), { max: 1 });
    const got = (async () => {
      for await (const msg of sub) return msg.json<{ modelId: string; blobs: string[] }>();
    })();
    const m = await uploadModel(h.client, tiny, 'evented');
    const ev = await got;
    expect(ev?.modelId).toBe(`evented@${m.ref?.version}`);
    expect(ev?.blobs.length).toBe(m.files.length);
  });

  it('answers DATA_LOSS when a stored blob is corrupt', async () => {
    const dir = join(work, 'corrupt');
    await bigFolder(dir, 1);
    const m = await uploadModel(h.client, dir, 'corrupt');
    const f = m.files.find((x) => x.path === 'model.safetensors')!;
    const bytes = Buffer.from(await readFile(join(dir, 'model.safetensors')));
    bytes[bytes.length - 10] ^= 0xff;
    if (kind === 'fs') await writeFile(h.backend.blobs.location(f.sha256), bytes);
    else await (await new Objm(h.bus.js).open(h.bus.names.objects.blobs)).put({ name: h.backend.blobs.location(f.sha256) }, new Blob([bytes]).stream());
    const err = await expectCode(download(h.client, { name: 'corrupt', version: '' }, 'model.safetensors'), status.DATA_LOSS);
    expect(err.details).toContain('corrupt');
    await expectCode(download(h.client, { name: 'corrupt', version: '' }, 'model.safetensors', 500_000), status.DATA_LOSS);
  });

  it('answers INVALID_ARGUMENT for truncated or malformed uploads and leaves nothing visible', async () => {
    const blobsBefore = (await h.backend.blobs.list()).sort();
    const files = await entriesOf(tiny);
    const send = async (header: object, chunks: object[]) => {
      const { call, done } = responseOf((cb: (e: ServiceError | null) => void) => h.client.uploadModel(cb));
      call.write({ part: { $case: 'header', value: { quantization: 0, ...header } } } as UploadModelRequest);
      for (const c of chunks) call.write({ part: { $case: 'chunk', value: c } } as UploadModelRequest);
      call.end();
      return done;
    };
    const cfg = await readFile(join(tiny, 'config.json'));
    const cfgEntry = files.find((f) => f.path === 'config.json')!;
    // truncated: the stream ends inside config.json
    let err = await expectCode(send({ ref: { name: 'bad' }, files }, [{ path: 'config.json', offset: 0, data: cfg.subarray(0, 10), last: false, sha256: '' }]), status.INVALID_ARGUMENT);
    expect(err.details).toContain('truncated');
    // a file missing entirely
    err = await expectCode(send({ ref: { name: 'bad' }, files: [cfgEntry] }, []), status.INVALID_ARGUMENT);
    expect(err.details).toContain('truncated');
    // data that does not hash to the declared sha256
    const wrong = Buffer.from(cfg);
    wrong[0] ^= 1;
    err = await expectCode(send({ ref: { name: 'bad' }, files: [cfgEntry] }, [{ path: 'config.json', offset: 0, data: wrong, last: true, sha256: '' }]), status.INVALID_ARGUMENT);
    expect(err.details).toContain('sha256 mismatch');
    // a chunk at the wrong offset
    err = await expectCode(send({ ref: { name: 'bad' }, files: [cfgEntry] }, [{ path: 'config.json', offset: 5, data: cfg, last: true, sha256: '' }]), status.INVALID_ARGUMENT);
    expect(err.details).toContain('offset');
    // malformed files: config.json that is not JSON, a safetensors file with a broken header
    const bad = join(work, 'malformed');
    await tinyLlamaFolder(bad, 7);
    await writeFile(join(bad, 'config.json'), '{"model_type": "llama",');
    err = await expectCode(uploadModel(h.client, bad, 'bad'), status.INVALID_ARGUMENT);
    expect(err.details).toContain('files[config.json]');
    await tinyLlamaFolder(bad, 8);
    const st = await readFile(join(bad, 'model.safetensors'));
    st.writeUInt32LE(st.length * 2, 0);
    await writeFile(join(bad, 'model.safetensors'), st);
    err = await expectCode(uploadModel(h.client, bad, 'bad'), status.INVALID_ARGUMENT);
    expect(err.details).toContain('files[model.safetensors]');
    await expectCode(send({ ref: { name: '../etc' }, files }, []), status.INVALID_ARGUMENT);
    expect((await list('bad')).models).toEqual([]);
    expect((await h.backend.blobs.list()).sort()).toEqual(blobsBefore);
  });

  it('a client that cancels mid-upload leaves no model and no temp data', async () => {
    const dir = join(work, 'cancelled');
    await bigFolder(dir, 4);
    const files = await entriesOf(dir);
    const { call, done } = responseOf((cb: (e: ServiceError | null) => void) => h.client.uploadModel(cb));
    const data = await readFile(join(dir, 'model.safetensors'));
    call.write({ part: { $case: 'header', value: { ref: { name: 'cancelled', version: '' }, quantization: 0, files } } } as UploadModelRequest);
    call.write({ part: { $case: 'chunk', value: { path: 'model.safetensors', offset: 0, data: data.subarray(0, 1 << 20), last: false, sha256: '' } } } as UploadModelRequest);
    await new Promise((r) => setTimeout(r, 200));
    call.cancel();
    await expectCode(done, status.CANCELLED);
    const f = files.find((x) => x.path === 'model.safetensors')!;
    for (let i = 0; i < 50 && kind === 'fs' && (await readdir(join(h.home, 'model-store', 'tmp'))).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    if (kind === 'fs') expect(await readdir(join(h.home, 'model-store', 'tmp'))).toEqual([]);
    expect(await h.backend.blobs.size(f.sha256)).toBeNull();
    expect((await list('cancelled')).models).toEqual([]);
  });

  it('stores PEFT adapters linked to their base model version', async () => {
    const base = await uploadModel(h.client, tiny, 'base');
    const dir = join(work, 'adapter');
    await adapterFolder(dir);
    const sub = h.bus.nc.subscribe(wireSubject(h.bus.names, 'events.adapter.published'), { max: 1 });
    const got = (async () => {
      for await (const msg of sub) return msg.json<{ adapterId: string; baseModelId: string; method: string }>();
    })();
    const a = await uploadAdapter(h.client, dir, 'sft-lora', { name: 'base', version: 'latest' });
    expect(await got).toMatchObject({ adapterId: 'sft-lora@1', baseModelId: `base@${base.ref?.version}`, method: 'lora' });
    expect(a.baseModel).toEqual(base.ref);
    expect(a.peftType).toBe('LORA');
    expect(a.trainableParameters).toBe(512);
    const listed = (await unary(h.client.listAdapters.bind(h.client) as never, { pageSize: 0, pageToken: '', baseModelName: 'base' })) as { adapters: unknown[] };
    expect(listed.adapters.length).toBe(1);
    const parts: Buffer[] = [];
    for await (const m of h.client.getAdapter({ ref: { name: 'sft-lora', version: '1' }, path: 'adapter_config.json', offset: 0, chunkSize: 0 })) parts.push(m.chunk.data);
    expect(Buffer.concat(parts).equals(await readFile(join(dir, 'adapter_config.json')))).toBe(true);
    await expectCode(unary(h.client.deleteModel.bind(h.client) as never, { ref: base.ref }), status.FAILED_PRECONDITION);
    await expectCode(uploadAdapter(h.client, dir, 'orphan', { name: 'nope', version: '' }), status.NOT_FOUND);
    // full / partial fine-tuning's folders: tuneloop's adapter_config.json (no PEFT peft_type) is stored as FULL / PARTIAL
    for (const method of ['full', 'partial']) {
      const own = join(work, `adapter-${method}`);
      await adapterFolder(own);
      await writeFile(join(own, 'adapter_config.json'), JSON.stringify({ tuneloop_method: method, base_model_name_or_path: 'base' }));
      expect((await uploadAdapter(h.client, own, `sft-${method}`, { name: 'base', version: 'latest' })).peftType).toBe(method.toUpperCase());
    }
    const neither = join(work, 'adapter-neither');
    await adapterFolder(neither);
    await writeFile(join(neither, 'adapter_config.json'), JSON.stringify({ tuneloop_method: 'magic' }));
    await expectCode(uploadAdapter(h.client, neither, 'sft-magic', { name: 'base', version: 'latest' }), status.INVALID_ARGUMENT);
  });

  it('quantizes a tiny Llama via the RPC (nf4 + double quant) and loads it back packed', async () => {
    await uploadModel(h.client, tiny, 'q');
    const res = (await unary(h.client.quantizeModel.bind(h.client) as never, {
      ref: { name: 'q', version: '1' }, scheme: QuantScheme.NF4, blockSize: 64, doubleQuant: true, keepFullPrecision: [],
      evalText: 'the quick brown fox jumps over the lazy dog. '.repeat(4), evalWindow: 64,
    })) as { model: { ref: { version: string }; quantization: number; source: unknown; files: { path: string }[] }; report: Record<string, number & string[]> };
    expect(res.model.ref.version).toBe('2');
    expect(res.model.quantization).toBe(QuantScheme.NF4);
    expect(res.model.source).toEqual({ name: 'q', version: '1' });
    const r = res.report;
    expect(r.quantizedTensors).toContain('model.layers.0.self_attn.q_proj.weight');
    expect(r.quantizedTensors.some((n: string) => /embed_tokens|norm|lm_head/.test(n))).toBe(false);
    expect(r.bitsPerParameter).toBeGreaterThan(4);
    expect(r.bitsPerParameter).toBeLessThan(4.2);
    expect(r.bytesAfter).toBeLessThan(r.bytesBefore);
    expect(r.snrDb).toBeGreaterThan(15);
    expect(r.perplexityAfter / r.perplexityBefore).toBeGreaterThan(0.8);
    expect(r.perplexityAfter / r.perplexityBefore).toBeLessThan(1.25);
    // pull both versions and compare logits: packed QuantizedLinear == dequantized dense, close to fp32
    const pull = async (version: string, out: string) => {
      const info = (await unary(h.client.describeModel.bind(h.client) as never, { ref: { name: 'q', version } })) as { model: { files: { path: string }[] } };
      for (const f of info.model.files) await writeFile(join(out, f.path), (await download(h.client, { name: 'q', version }, f.path)).bytes);
    };
    const qdir = await tempDir();
    await pull('2', qdir);
    const before = tf.memory().numTensors;
    const packed = await loadStoredModel(qdir, 'packed');
    const dense = await loadStoredModel(qdir, 'dequantize');
    const fp = await loadStoredModel(tiny, 'dequantize');
    const input = { inputIds: [[5, 9, 12, 3, 7, 20]] };
    const [a, b, c] = [packed, dense, fp].map((m) => m.model.forward(input));
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-4);
    const rel = tf.div(tf.norm(tf.sub(a, c)), tf.norm(c)).dataSync()[0];
    expect(rel).toBeGreaterThan(0);
    expect(rel).toBeLessThan(0.6); // an untrained std-0.2 model amplifies the ~10% nf4 weight error
    tf.dispose([a, b, c]);
    for (const m of [packed, dense, fp]) m.model.dispose();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 10);
    await rm(qdir, { recursive: true, force: true });
    await expectCode(unary(h.client.quantizeModel.bind(h.client) as never, QuantizeModelRequest.fromPartial({ ref: { name: 'q', version: '2' }, scheme: QuantScheme.INT8 })), status.FAILED_PRECONDITION);
    await expectCode(unary(h.client.quantizeModel.bind(h.client) as never, QuantizeModelRequest.fromPartial({ ref: { name: 'q', version: '1' }, scheme: QuantScheme.INT8, doubleQuant: true })), status.INVALID_ARGUMENT);
  });
});
