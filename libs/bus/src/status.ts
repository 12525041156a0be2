// natsStatus: a never-throwing probe of a NATS server (reachability, JetStream, version) for `tuneloop doctor`.
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager } from '@nats-io/jetstream';
import { redactUrl, serverOptions } from './connect.ts';

export interface NatsStatus {
  reachable: boolean;
  jetstream: boolean;
  serverVersion?: string;
  error?: string;
}

/** Probes `url` within `timeoutMs` (default 2000). Never throws; credentials never appear in `error`. */
export async function natsStatus(url: string, timeoutMs = 2000): Promise<NatsStatus> {
  let nc: NatsConnection | undefined;
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  const probe = async (): Promise<NatsStatus> => {
    try {
      nc = await connect({ ...serverOptions(url), name: 'tuneloop-status', timeout: timeoutMs, maxReconnectAttempts: 0, reconnect: false });
    } catch (err) {
      return { reachable: false, jetstream: false, error: scrub(err, url) };
    }
    if (finished) {
      await nc.close().catch(() => undefined);
      return { reachable: false, jetstream: false, error: 'timeout' };
    }
    const serverVersion = nc.info?.version;
    try {
      const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: timeoutMs });
      await jsm.getAccountInfo();
      return { reachable: true, jetstream: true, serverVersion };
    } catch (err) {
      return { reachable: true, jetstream: false, serverVersion, error: `jetstream: ${scrub(err, url)}` };
    }
  };
  const timeout = new Promise<NatsStatus>((resolve) => {
    timer = setTimeout(() => resolve({ reachable: false, jetstream: false, error: `timeout after ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    return await Promise.race([probe(), timeout]);
  } catch (err) {
    return { reachable: false, jetstream: false, error: scrub(err, url) };
  } finally {
    finished = true;
    clearTimeout(timer);
    const c = nc as NatsConnection | undefined;
    if (c && !c.isClosed()) await c.close().catch(() => undefined);
  }
}

function scrub(err: unknown, url: string): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split(url).join(redactUrl(url));
}
