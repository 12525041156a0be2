// Graceful shutdown and fail-fast config, in real child processes: SIGTERM during an in-flight
// RPC lets it finish OK, refuses new calls and exits 0; a bad TUNELOOP_* value exits 2 naming it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { connectBus, deprovision } from '@tuneloop/bus';
import { RolloutServiceClient, type VerifyResponse } from '@tuneloop/proto';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');
const prefix = `t${randomUUID().slice(0, 8)}`;

function spawnService(file: string, env: Record<string, string>): ChildProcess {
  return spawn(tsx, ['--tsconfig', path.join(root, 'tsconfig.base.json'), file], {
    cwd: root,
    env: {
      ...process.env,
      TUNELOOP_GRPC_ADDR: '127.0.0.1:0',
      TUNELOOP_METRICS_PORT: '0',
      TUNELOOP_NATS_PREFIX: prefix,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves with the log line whose msg is `msg` (JSON lines on stdout). */
function waitForLog(child: ChildProcess, msg: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        if (o.msg === msg) resolve(o);
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before logging "${msg}"`)));
  });
}

const exitCode = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

afterAll(async () => {
  const bus = await connectBus({
    url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222',
    name: 'test-cleanup',
  });
  await deprovision(bus, { prefix });
  await bus.close();
});

describe('service process', () => {
  it('finishes an in-flight RPC after SIGTERM, refuses new ones, and exits 0', async () => {
    const child = spawnService(path.join(root, 'libs/service-kit/test/fixtures/slow-service.ts'), {
      TUNELOOP_SHUTDOWN_GRACE_MS: '10000',
    });
    const exited = exitCode(child);
    const serving = await waitForLog(child, 'serving');
    const client = new RolloutServiceClient(serving.grpc as string, credentials.createInsecure());
    const inFlight = new Promise<{ err: ServiceError | null; res?: VerifyResponse }>((resolve) =>
      client.verify({ items: [{ prompt: 'p', completion: '1500', reference: '' }], verifierJson: '' }, (err, res) =>
        resolve({ err, res }),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    child.kill('SIGTERM');
    await waitForLog(child, 'shutting down');
    const late = new RolloutServiceClient(serving.grpc as string, credentials.createInsecure());
    const refused = await new Promise<ServiceError | null>((resolve) =>
      late.verify({ items: [{ prompt: 'p', completion: '0', reference: '' }], verifierJson: '' }, (err) => resolve(err)),
    );
    const done = await inFlight;
    expect(done.err).toBeNull();
    expect(done.res?.results[0].detail).toBe('finished');
    expect(refused?.code).toBe(status.UNAVAILABLE);
    expect(await exited).toBe(0);
    client.close();
    late.close();
  });

  it('fails fast with exit 2 and one line naming a bad variable', async () => {
    const child = spawnService(path.join(root, 'services/rollout/src/main.ts'), {
      TUNELOOP_GRPC_PORT: 'abc',
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    expect(await exitCode(child)).toBe(2);
    expect(stderr).toContain('TUNELOOP_GRPC_PORT: must be an integer 0-65535 (0: any free port), got "abc"');
    expect(stderr.trim().split('\n')).toHaveLength(2);
  });
});
