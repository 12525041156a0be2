// The model-store plumbing of @tuneloop/jobs against a real model store on a gRPC port: a folder stored under an
// explicit version (again = done), looked up, pulled into a cache folder file for file (SHA-256 checked), and an
// adapter trained on the pulled base linked to the stored version by `baseName` (without it the folder name
// `<name>@<version>` would be imported as a new model).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeTinyBase } from '@tuneloop/adapter-trainer';
import { connectBus, deprovision, provision, type Bus } from '@tuneloop/bus';
import { initBackend } from '@tuneloop/engine';
import { loadModel } from '@tuneloop/files';
import { describeModel, folderEntries, pullModel, storeAdapter, storeModelFolder } from '@tuneloop/jobs';
import { modelStore } from '@tuneloop/model-store';
import { encodeAdapterFiles, getPeftMethod, saveAdapter } from '@tuneloop/peft';
import { startTestServices, type TestServices } from '@tuneloop/service-kit';
import { afterAll, beforeAll, expect, it } from 'vitest';

const prefix = `t${randomUUID().slice(0, 8)}`;
let svc: TestServices;
let bus: Bus;
let home: string;

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  home = await mkdtemp(path.join(os.tmpdir(), 'tuneloop-jobstore-'));
  await writeTinyBase(path.join(home, 'base'));
  bus = await connectBus({ url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'jobs-store-test', prefix });
  await provision(bus, { prefix, storage: 'memory' });
  svc = await startTestServices([modelStore], { TUNELOOP_HOME: path.join(home, 'store'), TUNELOOP_NATS_PREFIX: prefix });
});
afterAll(async () => {
  await svc?.close();
  await deprovision(bus).catch(() => undefined);
  await bus?.close();
  await rm(home, { recursive: true, force: true });
});

it('stores, describes and pulls a model version; an adapter on the pulled base links to that version', async () => {
  const t = svc.target;
  expect(await storeModelFolder(t, path.join(home, 'base'), 'tiny', '7')).toEqual({ name: 'tiny', version: '7' });
  expect(await storeModelFolder(t, path.join(home, 'base'), 'tiny', '7')).toEqual({ name: 'tiny', version: '7' }); // a redelivery: done
  expect(await describeModel(t, 'tiny', 'nope')).toBeUndefined();
  const info = (await describeModel(t, 'tiny', ''))!;
  expect(info.ref).toEqual({ name: 'tiny', version: '7' });
  const dir = await pullModel(t, info, path.join(home, 'cache'));
  expect(dir).toBe(path.join(home, 'cache', 'tiny@7'));
  expect(await folderEntries(dir)).toEqual(await folderEntries(path.join(home, 'base')));
  expect(await pullModel(t, info, path.join(home, 'cache'))).toBe(dir); // cached

  const { model } = await loadModel(dir);
  const lora = getPeftMethod('lora');
  const pm = lora.apply(model, lora.parseConfig({ r: 2, target_modules: ['q_proj'] }), { seed: 1 });
  const files = encodeAdapterFiles(saveAdapter(pm, { baseModel: 'tiny@7' }));
  pm.unload();
  model.dispose();
  const adapterDir = path.join(home, 'adapter');
  await mkdir(adapterDir, { recursive: true });
  for (const [f, bytes] of Object.entries(files)) await writeFile(path.join(adapterDir, f), bytes);
  const linked = await storeAdapter(t, { baseDir: dir, baseName: 'tiny', adapterDir, name: 'tiny-lora', version: 'job-1', metrics: { steps: 1 } });
  expect(linked).toEqual({ name: 'tiny-lora', version: 'job-1', baseModel: { name: 'tiny', version: '7' }, baseImported: false });
  const unnamed = await storeAdapter(t, { baseDir: dir, adapterDir, name: 'tiny-lora', version: 'job-2', metrics: {} });
  expect(unnamed.baseModel).toEqual({ name: 'tiny-7', version: '1' }); // the folder name, imported again
  expect(unnamed.baseImported).toBe(true);
});
