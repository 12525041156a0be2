// Test helpers: read every event of a prefixed EVENTS stream from the real NATS server, and find a
// TCP port nothing listens on (to make NATS unreachable for the relay).
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { DeliverPolicy } from '@nats-io/jetstream';
import { connectBus, decodeJson, deprovision, type Bus } from '@tuneloop/bus';

export const NATS_URL = process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222';
export const testBusPrefix = () => `T${randomBytes(4).toString('hex')}_`;

export async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface ReadEvent { msgId: string | undefined; subject: string; data: Record<string, unknown> }

/** Every message in the prefixed EVENTS stream, oldest first. */
export async function readEvents(prefix: string): Promise<ReadEvent[]> {
  const bus = await connectBus({ url: NATS_URL, name: 'labeling-test-reader', prefix });
  try {
    const info = await bus.jsm.streams.info(bus.names.streams.events).catch(() => null);
    if (!info || info.state.messages === 0) return [];
    const consumer = await bus.js.consumers.get(bus.names.streams.events, { deliver_policy: DeliverPolicy.All });
    const out: ReadEvent[] = [];
    while (out.length < info.state.messages) {
      const m = await consumer.next({ expires: 2000 });
      if (!m) break;
      out.push({ msgId: m.headers?.get('Nats-Msg-Id'), subject: m.subject, data: decodeJson(m.data, m.subject) as Record<string, unknown> });
    }
    return out;
  } finally {
    await bus.close();
  }
}

export async function dropBusPrefix(prefix: string): Promise<void> {
  const bus: Bus = await connectBus({ url: NATS_URL, name: 'labeling-test-cleanup', prefix });
  try {
    await deprovision(bus);
  } finally {
    await bus.close();
  }
}
