// `npm start` end to end in a child process: with no NATS at TUNELOOP_NATS_URL it starts a
// nats-server child; `tuneloop doctor --json` then reports the six services SERVING; SIGINT
// (Ctrl-C) stops the services and the NATS it started, exit 0; doctor then fails with a reason.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { natsStatus } from '@tuneloop/bus';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const home = mkdtempSync(path.join(tmpdir(), 'tuneloop-stack-'));
let stack: ChildProcess | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function doctor(
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; json: Record<string, unknown>; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'node',
      [path.join(root, 'bin/tuneloop.mjs'), 'doctor', '--json'],
      { cwd: root, env },
      (err, stdout, stderr) =>
        resolve({
          code: err ? Number((err as { code?: number }).code ?? 1) : 0,
          json: JSON.parse(stdout),
          stderr,
        }),
    );
  });
}

afterAll(() => {
  if (stack && stack.exitCode === null) stack.kill('SIGKILL');
  rmSync(home, { recursive: true, force: true });
});

describe('npm start (deploy/local/start.ts)', () => {
  it('brings up NATS and six SERVING services that doctor sees; Ctrl-C stops everything', async () => {
    const [grpcPort, natsPort] = await Promise.all([freePort(), freePort()]);
    const natsUrl = `nats://127.0.0.1:${natsPort}`;
    const env = {
      ...process.env,
      TUNELOOP_HOME: home,
      TUNELOOP_GRPC_ADDR: `127.0.0.1:${grpcPort}`,
      TUNELOOP_METRICS_PORT: '0',
      TUNELOOP_NATS_URL: natsUrl,
      TUNELOOP_DATABASE_URL: '',
      TUNELOOP_NATS_PREFIX: '',
      TUNELOOP_LABELING: 'off', // the app's own e2e test builds and drives it
    };
    stack = spawn(path.join(root, 'node_modules/.bin/tsx'), ['deploy/local/start.ts'], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => stack!.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: stack!.stdout! }).on('line', (line) => {
        if (line.includes('"msg":"serving"')) resolve();
      });
      stack!.once('exit', (code) => reject(new Error(`npm start exited with ${code}`)));
    });

    const up = await doctor(env);
    expect(up.json.services).toEqual({
      'model-store': 'SERVING',
      'adapter-trainer': 'SERVING',
      'reward-model': 'SERVING',
      rollout: 'SERVING',
      'preference-optimizer': 'SERVING',
      rounds: 'SERVING',
    });
    expect(up.json.nats).toMatchObject({ url: natsUrl, reachable: true, jetstream: true });
    expect(up.json.database).toMatchObject({ kind: 'sqlite', ok: true });
    expect((up.json.backend as { selected: string }).selected).toMatch(/^(tensorflow|wasm|cpu)$/);
    expect(up.json.ok).toBe(true);
    expect(up.code).toBe(0);

    stack.kill('SIGINT');
    expect(await exited).toBe(0);
    expect((await natsStatus(natsUrl, 1000)).reachable).toBe(false);

    const down = await doctor(env);
    expect(down.code).toBe(1);
    expect(Object.values(down.json.services as object).every((s) => s === 'UNREACHABLE')).toBe(true);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    expect(down.stderr).toContain(`NATS unreachable at ${natsUrl}`);
    expect(down.stderr).toContain(`no services answer at 127.0.0.1:${grpcPort}`);
  });
});

describe('npm start without a usable NATS', () => {
  it('exits 1 with a one-line instruction when a remote NATS does not answer', async () => {
    const env = {
      ...process.env,
      TUNELOOP_HOME: home,
      TUNELOOP_NATS_URL: 'nats://nats.invalid:4222',
      TUNELOOP_GRPC_ADDR: '127.0.0.1:0',
    };
    const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(
        path.join(root, 'node_modules/.bin/tsx'),
        ['deploy/local/start.ts'],
        { cwd: root, env },
        (err, _out, stderr) => resolve({ code: err ? Number((err as { code?: number }).code) : 0, stderr }),
      ),
    );
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      'tuneloop start: NATS does not answer at nats://nats.invalid:4222: start it there, or unset TUNELOOP_NATS_URL to use a local one',
    ]);
  });
});
