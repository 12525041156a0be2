// Build the labeling app once (`next build`, Turbopack) and serve it with `next start` on a free port,
// for the end-to-end tests and the benchmark (the API client lives in src/lib/api-client-node.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const APP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NEXT_BIN = path.resolve(APP_DIR, '../../node_modules/next/dist/bin/next');

function run(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [NEXT_BIN, ...args], { cwd: APP_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`next ${args[0]} exited with ${code}:\n${out.slice(-4000)}`))));
  });
}

/** `next build` (skipped only when TUNELOOP_E2E_REUSE_BUILD=1 and a build exists). */
export async function buildApp(): Promise<void> {
  if (process.env.TUNELOOP_E2E_REUSE_BUILD === '1' && existsSync(path.join(APP_DIR, '.next', 'BUILD_ID'))) return;
  await run(['build'], { ...process.env, NEXT_TELEMETRY_DISABLED: '1' });
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface RunningApp { url: string; proc: ChildProcess; log: () => string; stop(): Promise<void> }

export async function startApp(env: Record<string, string>): Promise<RunningApp> {
  const port = await freePort();
  const proc = spawn(process.execPath, [NEXT_BIN, 'start', '--port', String(port), '--hostname', '127.0.0.1'], {
    cwd: APP_DIR, env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout!.on('data', (d) => (log += d));
  proc.stderr!.on('data', (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`next start exited with ${proc.exitCode}:\n${log}`);
    try {
      const r = await fetch(`${url}/api/auth/csrf`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`next start did not answer within 30 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url, proc, log: () => log,
    stop: () => new Promise<void>((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
      setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
    }),
  };
}

export { ApiClient } from '../src/lib/api-client-node.ts';
