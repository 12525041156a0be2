// Labeling app benchmark (not a test): N simulated concurrent annotators doing fetch-next / submit
// against the built app (`next start`), on SQLite and on PostgreSQL, with the outbox relay to NATS on.
// Each annotator waits a think time (uniform 0.5x..1.5x of --think-ms) between reading an item and
// submitting it; --think-ms 0 measures saturation (a closed loop with no pause).
// Run: npx tsx bench/labeling.ts [--annotators 50] [--seconds 20] [--db sqlite,postgres] [--think-ms 0,1000]
// Writes bench/results/labeling.{json,md} and prints the Markdown table.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ApiClient, buildApp, startApp } from '../apps/labeling/test/app-server.ts';
import { dropBusPrefix, NATS_URL, testBusPrefix } from '../apps/labeling/test/nats-helpers.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const ANNOTATORS = Number(arg('annotators', '50'));
const SECONDS = Number(arg('seconds', '20'));
const DBS = arg('db', 'sqlite,postgres').split(',');
const THINKS = arg('think-ms', '0,1000').split(',').map(Number);
const PG_ADMIN_URL = process.env.TUNELOOP_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const K = 4;
const COMPARISONS = 3000;

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : NaN;
};

interface Result { db: string; thinkMs: number; annotators: number; seconds: number; submits: number; fetches: number; errors: number; submitsPerS: number; requestsPerS: number;
  latencyMs: Record<'next' | 'submit' | 'all', { p50: number; p95: number; p99: number; max: number }> }

async function runOne(db: string, thinkMs: number): Promise<Result> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'tuneloop-bench-'));
  const prefix = testBusPrefix();
  let pgDb: string | null = null;
  const env: Record<string, string> = {
    TUNELOOP_HOME: home, TUNELOOP_ADMIN_EMAIL: 'admin@bench.dev', TUNELOOP_ADMIN_PASSWORD: 'admin-password-1',
    TUNELOOP_NATS_URL: NATS_URL, TUNELOOP_NATS_PREFIX: prefix, TUNELOOP_LABELING_UNDO_GRACE_MS: '2000',
    TUNELOOP_LABELING_SIGNIN_MAX_FAILURES: '1000',
  };
  if (db === 'postgres') {
    pgDb = `tl_bench_${randomBytes(4).toString('hex')}`;
    const c = new pg.Client({ connectionString: PG_ADMIN_URL });
    await c.connect();
    await c.query(`create database ${pgDb}`);
    await c.end();
    const u = new URL(PG_ADMIN_URL);
    u.pathname = `/${pgDb}`;
    env.TUNELOOP_DATABASE_URL = u.toString();
  }
  const app = await startApp(env);
  try {
    const admin = new ApiClient(app.url);
    if (!(await admin.signIn('admin@bench.dev', 'admin-password-1')).ok) throw new Error('admin sign-in failed');
    const { project } = await admin.json<{ project: { id: string } }>('POST', '/api/projects', { name: 'bench', guidelines: '', annotatorsPerItem: 3, k: K });
    const lines = Array.from({ length: COMPARISONS }, (_, i) => JSON.stringify({ prompt: `Prompt ${i}: explain something in detail.`, responses: Array.from({ length: K }, (_, j) => `Response ${j} to prompt ${i}. `.repeat(20)) }));
    const imp = await admin.request('POST', `/api/projects/${project.id}/import`, { raw: lines.join('\n') });
    if (!imp.ok) throw new Error(`import failed: ${await imp.text()}`);
    const clients: ApiClient[] = [];
    for (let i = 0; i < ANNOTATORS; i++) {
      await admin.json('POST', '/api/users', { email: `a${i}@bench.dev`, password: 'annotator-pass-1', role: 'annotator' });
      const c = new ApiClient(app.url);
      if (!(await c.signIn(`a${i}@bench.dev`, 'annotator-pass-1')).ok) throw new Error('annotator sign-in failed');
      clients.push(c);
    }
    // Warm-up (not measured): every annotator fetches and submits once, one after the other, so the
    // server's code paths are compiled and the connection pools are open.
    for (const c of clients) {
      const b = await (await c.request('POST', `/api/projects/${project.id}/next`, { body: {} })).json();
      await c.request('POST', `/api/assignments/${b.item.assignmentId}/submit`, { body: { ranking: [...Array(K).keys()].map((p) => [p]), durationMs: 1000 } });
    }
    const lat = { next: [] as number[], submit: [] as number[] };
    let errors = 0;
    const end = performance.now() + SECONDS * 1000;
    const t0 = performance.now();
    await Promise.all(clients.map(async (c) => {
      // Annotators do not all start in the same millisecond: spread the starts over one think time.
      if (thinkMs > 0) await new Promise((r) => setTimeout(r, Math.random() * thinkMs));
      while (performance.now() < end) {
        let t = performance.now();
        const n = await c.request('POST', `/api/projects/${project.id}/next`, { body: {} });
        const body = await n.json();
        lat.next.push(performance.now() - t);
        if (!n.ok) { errors++; continue; }
        if (!body.item) return;
        if (thinkMs > 0) await new Promise((r) => setTimeout(r, thinkMs * (0.5 + Math.random())));
        const ranking = [...Array(K).keys()].sort(() => Math.random() - 0.5).map((p) => [p]);
        t = performance.now();
        const s = await c.request('POST', `/api/assignments/${body.item.assignmentId}/submit`, { body: { ranking, durationMs: 1000 } });
        await s.arrayBuffer();
        lat.submit.push(performance.now() - t);
        if (!s.ok) errors++;
      }
    }));
    const elapsed = (performance.now() - t0) / 1000;
    const stats = (xs: number[]) => ({ p50: +pct(xs, 0.5).toFixed(1), p95: +pct(xs, 0.95).toFixed(1), p99: +pct(xs, 0.99).toFixed(1), max: +Math.max(...xs).toFixed(1) });
    return {
      db, thinkMs, annotators: ANNOTATORS, seconds: +elapsed.toFixed(1), submits: lat.submit.length, fetches: lat.next.length, errors,
      submitsPerS: +(lat.submit.length / elapsed).toFixed(1), requestsPerS: +((lat.submit.length + lat.next.length) / elapsed).toFixed(1),
      latencyMs: { next: stats(lat.next), submit: stats(lat.submit), all: stats([...lat.next, ...lat.submit]) },
    };
  } finally {
    await app.stop();
    await dropBusPrefix(prefix).catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
    if (pgDb) {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${pgDb} with (force)`);
      await c.end();
    }
  }
}

await buildApp();
const results: Result[] = [];
for (const db of DBS) {
  for (const think of THINKS) {
    const r = await runOne(db, think);
    results.push(r);
    console.error(`${db}, think ${think} ms: ${r.submits} submits in ${r.seconds} s`);
  }
}
const md = [
  `Labeling app, ${ANNOTATORS} concurrent annotators, K = ${K}, N = 3 annotators per comparison, ${SECONDS} s per run, ${os.cpus().length} CPU cores (${os.cpus()[0]?.model ?? 'cpu'}), load average before start ${os.loadavg()[0].toFixed(1)}, Node ${process.version}; client and server on the same machine`,
  '',
  '| database | think ms | submits/s | requests/s | fetch-next p50 / p95 / p99 ms | submit p50 / p95 / p99 ms | all p95 ms | errors |',
  '|---|---|---|---|---|---|---|---|',
  ...results.map((r) => `| ${r.db} | ${r.thinkMs} | ${r.submitsPerS} | ${r.requestsPerS} | ${r.latencyMs.next.p50} / ${r.latencyMs.next.p95} / ${r.latencyMs.next.p99} | ${r.latencyMs.submit.p50} / ${r.latencyMs.submit.p95} / ${r.latencyMs.submit.p99} | ${r.latencyMs.all.p95} | ${r.errors} |`),
].join('\n');
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/labeling.json', JSON.stringify(results, null, 2));
writeFileSync('bench/results/labeling.md', md + '\n');
console.log(md);
