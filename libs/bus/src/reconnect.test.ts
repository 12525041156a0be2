// connectBus logs disconnect and reconnect (through a TCP proxy we can cut) and never logs URL credentials.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { connectBus } from './connect.ts';
import { NATS_URL } from './test-util.ts';

function proxy(target: URL): Promise<{ server: Server; port: number; cut(): void }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(Number(target.port || 4222), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    server,
    port: (server.address() as { port: number }).port,
    cut: () => { for (const s of sockets) s.destroy(); },
  })));
}

describe('connectBus reconnect', () => {
  let p: Awaited<ReturnType<typeof proxy>> | undefined;
  afterAll(() => p?.server.close());

  it('logs the disconnect and the reconnect, and keeps working afterwards', async () => {
    p = await proxy(new URL(NATS_URL));
    const logs: { level: string; msg: string; obj: object }[] = [];
    const mk = (level: string) => (obj: object, msg = '') => logs.push({ level, msg, obj });
    const bus = await connectBus({
      url: `nats://alice:s3cret@127.0.0.1:${p.port}`, name: 'reconnect-test', reconnectWaitMs: 100,
      logger: { info: mk('info'), warn: mk('warn'), error: mk('error') },
    });
    await bus.nc.flush();
    p.cut();
    const t0 = Date.now();
    while (!logs.some((l) => l.msg === 'nats: reconnected') && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
    await bus.nc.flush();
    expect((await bus.jsm.getAccountInfo()).limits).toBeDefined();
    await bus.close();
    const msgs = logs.map((l) => `${l.level} ${l.msg}`);
    expect(msgs).toContain('warn nats: disconnected, reconnecting');
    expect(msgs).toContain('info nats: reconnected');
    expect(msgs.indexOf('warn nats: disconnected, reconnecting')).toBeLessThan(msgs.indexOf('info nats: reconnected'));
    expect(JSON.stringify(logs)).not.toContain('s3cret');
    expect(JSON.stringify(logs)).not.toContain('alice');
  });
});
