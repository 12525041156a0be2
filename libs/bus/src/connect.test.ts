// Tests for connectBus, natsStatus and URL redaction against the real local NATS server.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { connectBus, redactUrl } from './connect.ts';
import { natsStatus } from './status.ts';
import { NATS_URL } from './test-util.ts';

describe('natsStatus', () => {
  it('reports a reachable server with JetStream and its version', async () => {
    const s = await natsStatus(NATS_URL, 3000);
    expect(s.reachable).toBe(true);
    expect(s.jetstream).toBe(true);
    expect(s.serverVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('returns reachable:false quickly on a closed port, without throwing', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const s = await natsStatus(`nats://127.0.0.1:${port}`, 2000);
    expect(s.reachable).toBe(false);
    expect(s.jetstream).toBe(false);
    expect(s.error).toBeTruthy();
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('times out on a port that accepts but never speaks NATS, and never leaks credentials', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const t0 = Date.now();
    const s = await natsStatus(`nats://alice:s3cret@127.0.0.1:${port}`, 500);
    silent.close();
    expect(s.reachable).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(JSON.stringify(s)).not.toContain('s3cret');
  });

  const hasBinary = spawnSync('nats-server', ['--version']).status === 0;
  it.skipIf(!hasBinary)('reports jetstream:false for a server started without -js', async () => {
    const port = await freePort();
    const srv = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    try {
      let s = await natsStatus(`nats://127.0.0.1:${port}`, 1000);
      for (let i = 0; i < 40 && !s.reachable; i++) {
        await new Promise((r) => setTimeout(r, 50));
        s = await natsStatus(`nats://127.0.0.1:${port}`, 1000);
      }
      expect(s).toMatchObject({ reachable: true, jetstream: false });
      expect(s.serverVersion).toMatch(/^\d+\./);
      expect(s.error).toMatch(/^jetstream: /);
    } finally {
      srv.kill('SIGTERM');
    }
  });

  it('never throws on a malformed URL', async () => {
    const s = await natsStatus('http://nope', 500);
    expect(s.reachable).toBe(false);
    expect(s.error).toMatch(/url/);
  });
});

describe('connectBus', () => {
  const logs: string[] = [];
  const logger = {
    info: (o: object, m?: string) => logs.push(`info ${m} ${JSON.stringify(o)}`),
    warn: (o: object, m?: string) => logs.push(`warn ${m} ${JSON.stringify(o)}`),
    error: (o: object, m?: string) => logs.push(`error ${m} ${JSON.stringify(o)}`),
  };

  it('connects, logs the connection and closes idempotently', async () => {
    const bus = await connectBus({ url: NATS_URL, name: 'connect-test', logger });
    expect((await bus.jsm.getAccountInfo()).limits).toBeDefined();
    await bus.close();
    await bus.close();
    expect(bus.nc.isClosed()).toBe(true);
    expect(logs.some((l) => l.startsWith('info nats: connected'))).toBe(true);
  });

  it('fails with a clear error and redacts credentials when the server is down', async () => {
    const port = await freePort();
    logs.length = 0;
    await expect(connectBus({ url: `nats://bob:hunter2@127.0.0.1:${port}`, name: 'x', logger, connectTimeoutMs: 500 }))
      .rejects.toThrow(/cannot connect to nats:\/\/\*\*\*@127\.0\.0\.1/);
    expect(logs.join('\n')).not.toContain('hunter2');
    expect(logs.some((l) => l.startsWith('error nats: connect failed'))).toBe(true);
  });

  it('redactUrl removes user and password', () => {
    expect(redactUrl('nats://u:p@host:4222')).toBe('nats://***@host:4222');
    expect(redactUrl('nats://tok@host:4222')).toBe('nats://***@host:4222');
    expect(redactUrl('nats://host:4222')).toBe('nats://host:4222');
  });
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
