// The model-store commands end to end: `tuneloop model import / ls / quantize --eval / pull / rm`
// through the real CLI entry point against the model store on a real gRPC port (fs backend, real NATS).
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '@tuneloop/bus';
import type { TestServices } from '@tuneloop/service-kit';
import { runCli as run } from '../test-run.ts';

let work: string;
let svc: TestServices;
let bus: Bus;
const prefix = `cli${randomUUID().slice(0, 8)}`;
const saved = process.env.TUNELOOP_GRPC_ADDR;


beforeAll(async () => {
  const { connectBus, provision } = await import('@tuneloop/bus');
  const { startTestServices } = await import('@tuneloop/service-kit');
  const { createModelStore } = await import('@tuneloop/model-store');
  const { initBackend } = await import('@tuneloop/engine');
  const { charTokenizer, tinyModel } = await import('@tuneloop/model');
  const { saveHfFolder } = await import('@tuneloop/files');
  work = await mkdtemp(join(tmpdir(), 'tuneloop-model-store-cli-'));
  const url = process.env.TUNELOOP_NATS_URL || 'nats://127.0.0.1:4222';
  bus = await connectBus({ url, name: 'cli-test', prefix });
  await provision(bus, { prefix });
  svc = await startTestServices([createModelStore({ backend: 'fs' })], { TUNELOOP_HOME: join(work, 'home'), TUNELOOP_NATS_PREFIX: prefix });
  process.env.TUNELOOP_GRPC_ADDR = svc.target;
  await initBackend();
  const tok = charTokenizer('abcdefghijklmnopqrstuvwxyz .');
  const config = {
    modelType: 'llama' as const, vocabSize: tok.vocabSize, hiddenSize: 64, intermediateSize: 128, numHiddenLayers: 1,
    numAttentionHeads: 4, numKeyValueHeads: 2, maxPositionEmbeddings: 64, rmsNormEps: 1e-5, ropeTheta: 10000,
    ropeScaling: null, attentionBias: false, tieWordEmbeddings: false,
  };
  const m = tinyModel(config, 3, 0.05);
  const w = m.namedWeights();
  await saveHfFolder(join(work, 'tiny'), { config, weights: w, tokenizer: tok });
  for (const t of w.values()) t.dispose();
  m.dispose();
  await writeFile(join(work, 'eval.txt'), 'a quiet brown fox naps in the sun. '.repeat(6));
});

afterAll(async () => {
  process.env.TUNELOOP_GRPC_ADDR = saved;
  await svc?.close();
  const { deprovision } = await import('@tuneloop/bus');
  await deprovision(bus, { prefix });
  await bus?.close();
  await rm(work, { recursive: true, force: true });
});

describe('tuneloop model import / ls / quantize / pull / rm', () => {
  it('imports, quantizes with --eval, pulls (resuming) and removes', async () => {
    let r = await run(['model', 'import', join(work, 'tiny'), '--name', 'tiny', '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).ref).toEqual({ name: 'tiny', version: '1' });

    r = await run(['model', 'quantize', 'tiny@1', '--scheme', 'nf4', '--double-quant', '--eval', join(work, 'eval.txt'), '--json']);
    expect(r.code, r.err).toBe(0);
    const q = JSON.parse(r.out) as { model: { ref: { version: string } }; report: Record<string, number> };
    expect(q.model.ref.version).toBe('2');
    expect(q.report.bitsPerParameter).toBeLessThan(4.2);
    expect(q.report.bytesAfter).toBeLessThan(q.report.bytesBefore);
    expect(q.report.evalTokens).toBeGreaterThan(100);
    expect(q.report.perplexityBefore).toBeGreaterThan(1);

    r = await run(['model', 'quantize', 'tiny@1', '--scheme', 'int8']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('bits / quantized param');
    expect(r.out).toContain('SNR');

    r = await run(['model', 'ls']);
    expect(r.out).toMatch(/tiny@3\s+int8/);
    expect(r.out).toMatch(/tiny@2\s+nf4/);

    const out = join(work, 'pulled');
    r = await run(['model', 'pull', 'tiny@2', '--out', out, '--json']);
    expect(r.code, r.err).toBe(0);
    const st = await readFile(join(out, 'model.safetensors'));
    // simulate an interrupted pull: a partial file is resumed from its size
    await rm(join(out, 'model.safetensors'));
    await writeFile(join(out, 'model.safetensors.part'), st);
    await truncate(join(out, 'model.safetensors.part'), 1000);
    r = await run(['model', 'pull', 'tiny@2', '--out', out, '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).resumedBytes).toBe(1000);
    expect((await readFile(join(out, 'model.safetensors'))).equals(st)).toBe(true);
    expect((await readdir(out)).filter((f) => f.endsWith('.part'))).toEqual([]);

    r = await run(['model', 'rm', 'tiny@latest', '--json']);
    expect(JSON.parse(r.out)).toEqual({ deleted: 'tiny@3' });
    r = await run(['model', 'rm', 'tiny@3']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('NOT_FOUND: model tiny@3 not found');
    r = await run(['model', 'quantize', 'tiny@1', '--scheme', 'fp8']);
    expect(r.err).toContain("--scheme: must be one of nf4, int8, int4, int2, fp4, got 'fp8'");
  }, 60_000);
});
