// Sandbox attacks, one test each: model-written code that reads a file, opens a socket, spawns a
// process, reads the environment, loops forever or allocates without bound fails its test cases,
// and the parent (this test process) is unaffected. Plus correct and partially correct code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVerifier } from '../spec.ts';
import { spawnSync } from 'node:child_process';
import { runInSandbox, sandboxNodeFlags } from './run.ts';

const dir = mkdtempSync(join(tmpdir(), 'tuneloop-sandbox-'));
const secretFile = join(dir, 'secret.txt');
const marker = join(dir, 'spawned');
let server: Server;
let port = 0;
let connections = 0;

beforeAll(async () => {
  writeFileSync(secretFile, 'top-secret');
  process.env.TUNELOOP_SANDBOX_SECRET = 's3cr3t';
  server = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  delete process.env.TUNELOOP_SANDBOX_SECRET;
  rmSync(dir, { recursive: true, force: true });
});

const code = createVerifier({ type: 'code', functionName: 'attack', testTimeoutMs: 300 });
/** Tests expecting exactly what the attack would return if it worked. */
const ref = (expected: unknown) => JSON.stringify({ tests: [{ args: [], expected }] });

async function parentStillResponsive<T>(work: Promise<T>): Promise<{ value: T; ticks: number }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  try {
    return { value: await work, ticks };
  } finally {
    clearInterval(timer);
  }
}

describe('sandbox: hostile code scores 0 and leaves the parent alone', () => {
  it('reads a file with require("fs")', async () => {
    const c = `function attack() { return require('fs').readFileSync(${JSON.stringify(secretFile)}, 'utf8'); }`;
    expect(await code.score('', c, ref('top-secret'))).toBe(0);
    const r = await runInSandbox({ code: c, functionName: 'attack', inputs: [[]] });
    expect(r.outcomes[0]).toEqual({ ok: false, error: 'threw: require is not defined' });
  });

  it('reads a file after escaping the context through constructors', async () => {
    const c = `function attack() {
      const p = this.constructor.constructor('return process')();
      return p.mainModule.require('fs').readFileSync(${JSON.stringify(secretFile)}, 'utf8');
    }`;
    expect(await code.score('', c, ref('top-secret'))).toBe(0);
    const r = await runInSandbox({ code: c, functionName: 'attack', inputs: [[]] });
    expect(r.outcomes[0]).toEqual({ ok: false, error: 'threw: Code generation from strings disallowed for this context' });
  });

  it('reads a file through dynamic import()', async () => {
    const c = `function attack() { return import('node:fs').then((fs) => fs.readFileSync(${JSON.stringify(secretFile)}, 'utf8')); }`;
    expect(await code.score('', c, ref('top-secret'))).toBe(0);
  });

  it('opens a socket (net, fetch, WebSocket): no connection reaches the server', async () => {
    const attempts = [
      `function attack() { const s = require('net').connect(${port}, '127.0.0.1'); return 'sent'; }`,
      `function attack() { fetch('http://127.0.0.1:${port}/'); return 'sent'; }`,
      `function attack() { new WebSocket('ws://127.0.0.1:${port}/'); return 'sent'; }`,
    ];
    for (const c of attempts) expect(await code.score('', c, ref('sent'))).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(connections).toBe(0);
  });

  it('spawns a process: nothing runs', async () => {
    const c = `function attack() { require('child_process').execSync('touch ${marker}'); return 'spawned'; }`;
    expect(await code.score('', c, ref('spawned'))).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });

  it("reads the parent's environment", async () => {
    const direct = 'function attack() { return process.env.TUNELOOP_SANDBOX_SECRET; }';
    const viaGlobal = 'function attack() { return globalThis.process.env.TUNELOOP_SANDBOX_SECRET; }';
    expect(await code.score('', direct, ref('s3cr3t'))).toBe(0);
    expect(await code.score('', viaGlobal, ref('s3cr3t'))).toBe(0);
    expect(process.env.TUNELOOP_SANDBOX_SECRET).toBe('s3cr3t');
  });

  it('loops forever: killed by the time limit while the parent keeps running', async () => {
    const started = Date.now();
    const { value, ticks } = await parentStillResponsive(code.score('', 'function attack() { while (true) {} }', ref(1)));
    expect(value).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(ticks).toBeGreaterThan(5);
  });

  it('loops forever at load time or in a microtask chain', async () => {
    expect(await code.score('', 'while (true) {} function attack() { return 1; }', ref(1))).toBe(0);
    const micro = 'function attack() { const f = () => Promise.resolve().then(f); f(); return 1; }';
    const r = await runInSandbox({ code: micro, functionName: 'attack', inputs: [[]], testTimeoutMs: 300 });
    expect(r.outcomes[0].ok).toBe(false);
  });

  it('allocates without bound on the JS heap: killed at the heap limit', async () => {
    const c = 'function attack() { const a = []; for (;;) a.push(new Array(1e5).fill(7)); }';
    const r = await runInSandbox({ code: c, functionName: 'attack', inputs: [[]], testTimeoutMs: 5000, memoryMb: 32 });
    expect(r.status).toBe('memory');
    expect(r.outcomes[0]).toEqual({ ok: false, error: 'memory' });
    expect(process.memoryUsage().rss).toBeLessThan(4 * 1024 ** 3);
  });

  it('allocates without bound in typed arrays (off-heap): killed by the RSS watchdog', async () => {
    const c = 'function attack() { const a = []; for (;;) { const b = new Uint8Array(5e7); b.fill(1); a.push(b); } }';
    const r = await runInSandbox({ code: c, functionName: 'attack', inputs: [[]], testTimeoutMs: 5000, memoryMb: 32 });
    expect(r.status).toBe('memory');
    expect(r.outcomes[0].ok).toBe(false);
  });

  it('forges results by rewriting JSON in its context: still judged by the parent', async () => {
    const c = "JSON.stringify = () => '{\"ok\":true,\"value\":42}'; function attack() { return 0; }";
    expect(await code.score('', c, ref(42))).toBe(0);
  });
});

describe('sandbox: honest code', () => {
  const tests = JSON.stringify({
    functionName: 'gcd',
    tests: [
      { args: [12, 18], expected: 6 },
      { args: [7, 5], expected: 1 },
      { args: [0, 9], expected: 9 },
      { args: [100, 75], expected: 25 },
    ],
  });

  it('correct code scores 1', async () => {
    const c = 'Here you go:\n```js\nfunction gcd(a, b) { return b === 0 ? a : gcd(b, a % b); }\n```';
    expect(await code.score('gcd?', c, tests)).toBe(1);
  });

  it('partially correct code scores the fraction passed', async () => {
    const c = 'function gcd(a, b) { return Math.min(a, b) === 0 ? Math.max(a, b) : (a % b === 0 || b % a === 0 ? Math.min(a, b) : 1); }';
    // 12,18 -> 1 (wrong); 7,5 -> 1 (right); 0,9 -> 9 (right); 100,75 -> 1 (wrong)
    expect(await code.score('gcd?', c, tests)).toBe(0.5);
  });

  it('code that throws on some inputs fails only those', async () => {
    const c = "function gcd(a, b) { if (a === 0) throw new Error('zero'); return b === 0 ? a : gcd(b, a % b); }";
    expect(await code.score('gcd?', c, tests)).toBe(0.75);
  });

  it('syntax errors and a missing entry point score 0', async () => {
    expect(await code.score('gcd?', 'function gcd(a, b) {', tests)).toBe(0);
    expect(await code.score('gcd?', 'function lcm(a, b) { return a * b; }', tests)).toBe(0);
  });

  it('compares objects and arrays structurally', async () => {
    const r = JSON.stringify({ functionName: 'f', tests: [{ args: [[3, 1, 2]], expected: { sorted: [1, 2, 3], n: 3 } }] });
    expect(await code.score('', 'const f = (xs) => ({ n: xs.length, sorted: [...xs].sort() });', r)).toBe(1);
  });
});

describe('sandbox: the process layer alone (as if the vm context were escaped)', () => {
  it('denies file reads and writes, child processes and workers, and has an empty environment', () => {
    const probe = `
      const r = {};
      const t = (k, f) => { try { f(); r[k] = 'allowed'; } catch (e) { r[k] = e.code || e.message; } };
      t('read', () => require('fs').readFileSync(${JSON.stringify(secretFile)}));
      t('write', () => require('fs').writeFileSync(${JSON.stringify(join(dir, 'w'))}, 'x'));
      t('spawn', () => require('child_process').execSync('true'));
      t('worker', () => new (require('worker_threads').Worker)('0', { eval: true }));
      t('eval', () => eval('1'));
      r.env = Object.keys(process.env).length;
      console.log(JSON.stringify(r));`;
    const res = spawnSync(process.execPath, [...sandboxNodeFlags(64), '-e', probe], { env: {}, encoding: 'utf8' });
    expect(JSON.parse(res.stdout)).toEqual({
      read: 'ERR_ACCESS_DENIED',
      write: 'ERR_ACCESS_DENIED',
      spawn: 'ERR_ACCESS_DENIED',
      worker: 'ERR_ACCESS_DENIED',
      eval: 'Code generation from strings disallowed for this context',
      env: 0,
    });
    expect(existsSync(join(dir, 'w'))).toBe(false);
  });
});
