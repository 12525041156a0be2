// A preference dataset through the model store (gRPC on a port, real NATS, fs or nats backend): UploadDataset of a
// synthetic TRL preference JSONL of --rows pairs (chunked, SHA-256 checked, every line parsed by the store), then the
// pairs reader's store:// path (DescribeDataset + GetDataset + parse). Reports MB/s and rows/s of each half.
//   npx tsx bench/dataset-push.ts [--rows 200000] [--backend fs|nats]
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connectBus, deprovision, provision } from '@tuneloop/bus';
import { pushDataset, storeFileFetcher } from '@tuneloop/jobs';
import { createModelStore } from '@tuneloop/model-store';
import { startTestServices } from '@tuneloop/service-kit';
import { loadPreferencePairs } from '@tuneloop/store';
import { writeResult } from './results.ts';

const { values: a } = parseArgs({ options: { rows: { type: 'string', default: '200000' }, backend: { type: 'string', default: 'fs' } } });
const rows = Number(a.rows);
const backend = a.backend === 'nats' ? 'nats' : 'fs';

const work = await mkdtemp(path.join(os.tmpdir(), 'tuneloop-dataset-bench-'));
const prefix = `bds${randomUUID().slice(0, 8)}`;
const url = process.env.TUNELOOP_NATS_URL || 'nats://127.0.0.1:4222';
const bus = await connectBus({ url, name: 'dataset-bench', prefix });
await provision(bus, { prefix });
const svc = await startTestServices([createModelStore({ backend })], { TUNELOOP_HOME: path.join(work, 'home'), TUNELOOP_NATS_PREFIX: prefix, TUNELOOP_NATS_URL: url });
try {
  const file = path.join(work, 'prefs.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const x = i % 97;
    const y = (i * 7) % 89;
    lines.push(JSON.stringify({ prompt: `What is ${x}+${y}? Answer with the number.`, chosen: `${x + y}`, rejected: `The answer is probably ${x + y + 1}, I think, after some thought.` }));
  }
  await writeFile(file, lines.join('\n') + '\n');
  const bytes = (await stat(file)).size;
  let t = performance.now();
  const d = await pushDataset(svc.target, { source: file, name: 'bench' });
  const pushS = (performance.now() - t) / 1000;
  t = performance.now();
  const { pairs } = await loadPreferencePairs(`store://bench@${d.ref!.version}/prefs.jsonl`, { fetchStoreFile: storeFileFetcher(svc.target) });
  const readS = (performance.now() - t) / 1000;
  if (pairs.length !== rows || d.rows !== rows) throw new Error(`expected ${rows} rows, stored ${d.rows}, read ${pairs.length}`);
  const result = {
    backend, rows, bytes, loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
    push_s: Number(pushS.toFixed(2)), push_mb_s: Number((bytes / 1e6 / pushS).toFixed(1)), push_rows_s: Math.round(rows / pushS),
    read_s: Number(readS.toFixed(2)), read_mb_s: Number((bytes / 1e6 / readS).toFixed(1)),
  };
  console.log(JSON.stringify(result));
  writeResult('dataset-push', result);
} finally {
  await svc.close();
  await deprovision(bus, { prefix });
  await bus.close();
  await rm(work, { recursive: true, force: true });
}
