// `tuneloop dataset push / ls / pull / rm` through the real CLI entry point against the model store on a real gRPC port
// (fs backend, real NATS); the pushed version is then read as pairs through its store:// URI.
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
const pair = (i: number) => JSON.stringify({ prompt: `${i}+1=`, chosen: String(i + 1), rejected: String(i + 2) });

beforeAll(async () => {
  const { connectBus, provision } = await import('@tuneloop/bus');
  const { startTestServices } = await import('@tuneloop/service-kit');
  const { createModelStore } = await import('@tuneloop/model-store');
  work = await mkdtemp(join(tmpdir(), 'tuneloop-dataset-cli-'));
  bus = await connectBus({ url: process.env.TUNELOOP_NATS_URL || 'nats://127.0.0.1:4222', name: 'cli-dataset-test', prefix });
  await provision(bus, { prefix });
  svc = await startTestServices([createModelStore({ backend: 'fs' })], { TUNELOOP_HOME: join(work, 'home'), TUNELOOP_NATS_PREFIX: prefix });
  process.env.TUNELOOP_GRPC_ADDR = svc.target;
});

afterAll(async () => {
  process.env.TUNELOOP_GRPC_ADDR = saved;
  await svc?.close();
  const { deprovision } = await import('@tuneloop/bus');
  await deprovision(bus, { prefix });
  await bus?.close();
  await rm(work, { recursive: true, force: true });
});

describe('tuneloop dataset push / ls / pull / rm', () => {
  it('pushes a file and a folder, lists them, and the printed store:// URI reads as pairs', async () => {
    const file = join(work, 'arith-prefs.jsonl');
    await writeFile(file, [0, 1, 2, 3].map(pair).join('\n') + '\n');
    let r = await run(['dataset', 'push', file, '--json']);
    expect([r.code, r.err]).toEqual([0, '']);
    const pushed = JSON.parse(r.out);
    expect([pushed.ref, pushed.format, pushed.rows, pushed.uris]).toEqual([{ name: 'arith-prefs', version: '1' }, 'preference', 4, ['store://arith-prefs@1/arith-prefs.jsonl']]);

    const dir = join(work, 'split');
    await mkdir(dir);
    await writeFile(join(dir, 'train.jsonl'), [4, 5].map(pair).join('\n'));
    await writeFile(join(dir, 'test.jsonl'), pair(6));
    r = await run(['dataset', 'push', dir, '--name', 'arith-prefs', '--version', 'v2', '--description', 'split']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('store://arith-prefs@v2/train.jsonl');

    r = await run(['dataset', 'ls', 'arith-prefs', '--json']);
    const listed = JSON.parse(r.out).datasets as { ref: { version: string }; rows: number; description: string }[];
    expect(listed.map((d) => [d.ref.version, d.rows, d.description])).toEqual([['v2', 3, 'split'], ['1', 4, '']]);
    r = await run(['dataset', 'ls']);
    expect(r.out.split('\n')[0]).toMatch(/^DATASET\s+FORMAT\s+ROWS\s+FILES\s+SIZE\s+CREATED$/);

    const { loadPreferencePairs } = await import('@tuneloop/store');
    const { storeFileFetcher } = await import('@tuneloop/jobs');
    const { pairs } = await loadPreferencePairs(pushed.uris[0], { fetchStoreFile: storeFileFetcher(svc.target) });
    expect(pairs.map((p) => p.chosen)).toEqual(['1', '2', '3', '4']);

    // pull: every file, byte for byte, plus the store's dataset_info.json; rm: the version is gone
    const out = join(work, 'pulled');
    r = await run(['dataset', 'pull', 'arith-prefs@v2', '--out', out, '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out).files as string[]).map((f) => f.slice(out.length + 1))).toEqual(['test.jsonl', 'train.jsonl', 'dataset_info.json']);
    expect(await readFile(join(out, 'train.jsonl'), 'utf8')).toBe(await readFile(join(dir, 'train.jsonl'), 'utf8'));
    expect(JSON.parse(await readFile(join(out, 'dataset_info.json'), 'utf8'))).toMatchObject({ format: 'preference', description: 'split', rows: 3 });
    r = await run(['dataset', 'rm', 'arith-prefs@v2']);
    expect([r.code, r.out]).toEqual([0, 'deleted arith-prefs@v2\n']);
    r = await run(['dataset', 'pull', 'arith-prefs@v2', '--out', out]);
    expect([r.code, r.err]).toEqual([1, 'tuneloop: NOT_FOUND: dataset arith-prefs@v2 not found\n']);
  });

  it('a bad line: exit 1 with INVALID_ARGUMENT, the file and the line; a bad --format is refused', async () => {
    const file = join(work, 'bad.jsonl');
    await writeFile(file, `${pair(1)}\n${pair(2)}\n{"prompt": "3+1=", "chosen": "4"}\n`);
    let r = await run(['dataset', 'push', file]);
    expect(r.code).toBe(1);
    expect(r.err).toBe('tuneloop: INVALID_ARGUMENT: files[bad.jsonl]: line 3: missing field "rejected" (expected {"prompt", "chosen", "rejected"})\n');
    r = await run(['dataset', 'push', file, '--format', 'pairs']);
    expect([r.code, r.err]).toEqual([1, 'tuneloop: --format: must be one of preference, unpaired, prompt_completion, messages, prompts, got "pairs"\n']);
    r = await run(['dataset', 'ls', 'bad', '--json']);
    expect(JSON.parse(r.out)).toEqual({ datasets: [] });
  });
});
