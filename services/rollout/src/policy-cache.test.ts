// The adapter part of the rollout disk cache (TUNELOOP_HOME/cache/rollout/adapters) on real files and a real model
// store: PolicyCache (the worker's path) keeps at most N adapter folders, the most recently used, the base stays, a
// pruned version is pulled again, a loaded policy needs no folder; pruning skips folders being written and
// tolerates concurrent pruners; TUNELOOP_ROLLOUT_ADAPTER_CACHE is validated naming the variable.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import * as tf from '@tensorflow/tfjs-core';
import { createRng, initBackend } from '@tuneloop/engine';
import { saveModel } from '@tuneloop/files';
import { ARITH_SMALL, arithModelConfig, arithTokenizer, CausalLM, generate, initWeights } from '@tuneloop/model';
import { connectStore, folderEntries, modelStore, responseOf, sendFolder } from '@tuneloop/model-store';
import type { UploadAdapterRequest } from '@tuneloop/proto';
import { startTestServices, type TestServices } from '@tuneloop/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAdapter } from './test-fixtures.ts';
import { ADAPTER_CACHE_DEFAULT, adapterCacheLimitFromEnv, PolicyCache, pruneAdapterCache, type LoadedPolicy, type PolicySpec } from './policy.ts';

const tok = arithTokenizer();
const VERSIONS = ['b0', 'b1', 'b2', 'b3', 'b4'];
let svc: TestServices;
let home: string;
let baseVersion = '';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  home = await mkdtemp(path.join(tmpdir(), 'rollout-policy-cache-'));
  const cfg = arithModelConfig({ ...ARITH_SMALL, hiddenSize: 32, numLayers: 1, intermediateSize: 64 }, tok);
  const w = initWeights(cfg, createRng(6));
  const m = new CausalLM(cfg, w);
  tf.dispose([...w.values()]);
  await saveModel(path.join(home, 'upload', 'base'), m, { tokenizer: tok });
  m.dispose();
  svc = await startTestServices([modelStore], { TUNELOOP_HOME: home, TUNELOOP_MODEL_STORE_BACKEND: 'fs' });
  const store = connectStore(svc.target);
  try {
    const imported = await new Promise<{ model?: { ref?: { version: string } } }>((resolve, reject) =>
      store.importModel({ ref: { name: 'base', version: '' }, path: path.join(home, 'upload', 'base') }, (e, r) => (e ? reject(e) : resolve(r))),
    );
    baseVersion = imported.model!.ref!.version;
    // a GRPO job's policy versions: one adapter name, a new version per generation batch
    for (const [i, version] of VERSIONS.entries()) {
      const dir = path.join(home, 'upload', `policy-${version}`);
      await makeAdapter(dir, 100 + i);
      const files = await folderEntries(dir);
      const { call, done } = responseOf<unknown, ReturnType<typeof store.uploadAdapter>>((cb) => store.uploadAdapter(new Metadata(), cb));
      await sendFolder<UploadAdapterRequest>(call, { part: { $case: 'header', value: { ref: { name: 'job1-policy', version }, baseModel: { name: 'base', version: baseVersion }, files, metrics: {} } } }, dir, files);
      await done;
    }
  } finally {
    store.close();
  }
});

afterAll(async () => {
  await svc?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

const spec = (version: string): PolicySpec => ({ kind: 'store', base: { name: 'base', version: baseVersion }, adapter: { name: 'job1-policy', version } });
const greedy = (l: LoadedPolicy) => Promise.resolve(generate(l.model, [[tok.bosTokenId!, ...tok.encode('12+7=', { addSpecialTokens: false })]], { maxNewTokens: 6, temperature: 0, seed: 0 })[0].logprobs);

/** Completed adapter folders in a cache (what pruning counts), sorted. */
async function cachedAdapters(h: string): Promise<string[]> {
  const dir = path.join(h, 'cache', 'rollout', 'adapters');
  return (await readdir(dir)).filter((n) => !n.includes('.tmp-') && !n.includes('.trash-') && existsSync(path.join(dir, n, '.complete'))).sort();
}

describe('rollout adapter disk cache', () => {
  it('keeps the N most recently used adapter folders, keeps the base, and pulls a pruned version again', async () => {
    const cacheHome = path.join(home, 'worker-a');
    const writing = path.join(cacheHome, 'cache', 'rollout', 'adapters', 'job1-policy@b9.tmp-999999-abcdef12');
    await mkdir(writing, { recursive: true });
    await writeFile(path.join(writing, '.complete'), ''); // written last before the rename: still not a candidate
    await utimes(writing, new Date(0), new Date(0));
    const cache = new PolicyCache({ home: cacheHome, storeClient: () => connectStore(svc.target), max: 1, adapterFolders: 3 });
    try {
      const first = new Map<string, number[]>();
      for (const [i, v] of VERSIONS.entries()) {
        first.set(v, await cache.use(spec(v), greedy));
        expect(await cachedAdapters(cacheHome)).toEqual(VERSIONS.slice(Math.max(0, i - 2), i + 1).map((x) => `job1-policy@${x}`));
      }
      expect(first.get('b0')).not.toEqual(first.get('b1')); // the versions differ, so equal outputs below mean the same weights
      expect(existsSync(path.join(cacheHome, 'cache', 'rollout', 'models', `base@${baseVersion}`, '.complete'))).toBe(true);
      expect(existsSync(writing)).toBe(true);

      // b0 was pruned: pulled again from the store, same weights; the least recently used (b2) goes
      expect(await cache.use(spec('b0'), greedy)).toEqual(first.get('b0'));
      expect(await cachedAdapters(cacheHome)).toEqual(['job1-policy@b0', 'job1-policy@b3', 'job1-policy@b4']);
      // reusing a cached folder (b3: not loaded in memory, max 1) marks it used: pulling b1 removes b4, not b3
      expect(await cache.use(spec('b3'), greedy)).toEqual(first.get('b3'));
      expect(await cache.use(spec('b1'), greedy)).toEqual(first.get('b1'));
      expect(await cachedAdapters(cacheHome)).toEqual(['job1-policy@b0', 'job1-policy@b1', 'job1-policy@b3']);
      expect(existsSync(path.join(cacheHome, 'cache', 'rollout', 'models', `base@${baseVersion}`, '.complete'))).toBe(true);
    } finally {
      await cache.close();
    }
  });

  it('a policy loaded in memory does not need its folder once pruned', async () => {
    const cacheHome = path.join(home, 'worker-b');
    const cache = new PolicyCache({ home: cacheHome, storeClient: () => connectStore(svc.target), max: 4, adapterFolders: 1 });
    try {
      const b0 = await cache.use(spec('b0'), greedy);
      await cache.use(spec('b1'), greedy);
      expect(await cachedAdapters(cacheHome)).toEqual(['job1-policy@b1']);
      expect(await cache.use(spec('b0'), greedy)).toEqual(b0); // the loaded copy: not pulled again
      expect(await cachedAdapters(cacheHome)).toEqual(['job1-policy@b1']);
    } finally {
      await cache.close();
    }
  });

  it('two processes pruning one cache at once remove each old folder once and never fail', async () => {
    const dir = path.join(home, 'prune', 'adapters');
    const names = Array.from({ length: 8 }, (_, i) => `a@v${i}`);
    for (const [i, n] of names.entries()) {
      await mkdir(path.join(dir, n), { recursive: true });
      await writeFile(path.join(dir, n, '.complete'), '');
      await utimes(path.join(dir, n), new Date(1000 * (i + 1)), new Date(1000 * (i + 1))); // v7 the most recently used
    }
    await mkdir(path.join(dir, 'a@v8.tmp-1234-0123abcd'), { recursive: true }); // being written: left alone
    await mkdir(path.join(dir, 'a@v9'), { recursive: true }); // no .complete: not a cache entry, left alone
    await mkdir(path.join(dir, 'a@v0.trash-1234-0123abcd', 'x'), { recursive: true }); // a pruner died mid-delete: swept
    // two workers just used v0 and v1 (pullPolicy touches a folder before pruning)
    for (const n of ['a@v0', 'a@v1']) await utimes(path.join(dir, n), new Date(), new Date());
    const [r1, r2] = await Promise.all([pruneAdapterCache(dir, path.join(dir, 'a@v0'), 3), pruneAdapterCache(dir, path.join(dir, 'a@v1'), 3)]);
    expect([...r1, ...r2].sort()).toEqual(['a@v2', 'a@v3', 'a@v4', 'a@v5', 'a@v6']); // each renamed away by one of them
    const left = (await readdir(dir)).sort();
    expect(left).toContain('a@v8.tmp-1234-0123abcd');
    expect(left).toContain('a@v9');
    expect(left.filter((n) => n.includes('.trash-'))).toEqual([]);
    expect(left.filter((n) => /^a@v[0-7]$/.test(n))).toEqual(['a@v0', 'a@v1', 'a@v7']);
    expect(await pruneAdapterCache(path.join(home, 'prune', 'missing'), 'x', 1)).toEqual([]);
  });

  it('reads TUNELOOP_ROLLOUT_ADAPTER_CACHE: an integer >= 1, default 16', () => {
    expect(ADAPTER_CACHE_DEFAULT).toBe(16);
    expect(adapterCacheLimitFromEnv({})).toBe(16);
    expect(adapterCacheLimitFromEnv({ TUNELOOP_ROLLOUT_ADAPTER_CACHE: '' })).toBe(16);
    expect(adapterCacheLimitFromEnv({ TUNELOOP_ROLLOUT_ADAPTER_CACHE: '4' })).toBe(4);
    for (const bad of ['0', '-2', '2.5', 'many']) {
      expect(() => adapterCacheLimitFromEnv({ TUNELOOP_ROLLOUT_ADAPTER_CACHE: bad })).toThrow(`TUNELOOP_ROLLOUT_ADAPTER_CACHE: must be an integer >= 1, got "${bad}"`);
    }
    const saved = process.env.TUNELOOP_ROLLOUT_ADAPTER_CACHE;
    process.env.TUNELOOP_ROLLOUT_ADAPTER_CACHE = '0';
    try {
      expect(() => new PolicyCache({ home, storeClient: () => connectStore(svc.target), max: 1 })).toThrow('TUNELOOP_ROLLOUT_ADAPTER_CACHE: must be an integer >= 1, got "0"');
    } finally {
      if (saved === undefined) delete process.env.TUNELOOP_ROLLOUT_ADAPTER_CACHE;
      else process.env.TUNELOOP_ROLLOUT_ADAPTER_CACHE = saved;
    }
  });
});
