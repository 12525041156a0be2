// Connection to NATS with JetStream handles: unlimited reconnects with a wait, status events logged
// through a pino-compatible logger; credentials in the URL are passed as options and never logged.
import { connect } from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { resolveNames, type BusNames } from './names.ts';

/** pino-compatible logger: `logger.info({ ctx }, 'message')`. */
export interface BusLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface Bus {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** resolved stream / subject / bucket names (prefix-aware) */
  readonly names: BusNames;
  readonly logger: BusLogger;
  /** drains and closes the connection; safe to call twice */
  close(): Promise<void>;
}

export interface ConnectBusOptions {
  url: string;
  /** client connection name shown by the server (e.g. the service name) */
  name: string;
  logger?: BusLogger;
  /** name prefix isolating this bus's streams and subjects (tests); default '' */
  prefix?: string;
  /** wait between reconnect attempts; default 1000 ms */
  reconnectWaitMs?: number;
  /** timeout of the first connection attempt; default 5000 ms */
  connectTimeoutMs?: number;
}

export const silentLogger: BusLogger = { info() {}, warn() {}, error() {} };

/** Removes user, password and token from a NATS URL for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    return u.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** Splits credentials out of a URL into NATS options (user/pass or token). */
export function serverOptions(url: string): Pick<ConnectionOptions, 'servers' | 'user' | 'pass' | 'token'> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`url: not a valid NATS URL: ${redactUrl(url)}`);
  }
  if (!['nats:', 'tls:', 'ws:', 'wss:'].includes(u.protocol)) {
    throw new Error(`url: scheme must be nats:// or tls://, got ${u.protocol}//`);
  }
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  const server = `${u.protocol}//${u.host}`;
  if (user && pass) return { servers: server, user, pass };
  if (user) return { servers: server, token: user };
  return { servers: server };
}

/** Connects to NATS (reconnecting forever) and opens the JetStream client and manager. */
export async function connectBus(opts: ConnectBusOptions): Promise<Bus> {
  const logger = opts.logger ?? silentLogger;
  const names = resolveNames(opts.prefix ?? '');
  const safeUrl = redactUrl(opts.url);
  let nc: NatsConnection;
  try {
    nc = await connect({
      ...serverOptions(opts.url),
      name: opts.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: opts.reconnectWaitMs ?? 1000,
      timeout: opts.connectTimeoutMs ?? 5000,
    });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    logger.error({ url: safeUrl, err: msg }, 'nats: connect failed');
    throw new Error(`nats: cannot connect to ${safeUrl}: ${msg}`, { cause: err });
  }
  logger.info({ url: safeUrl, server: nc.info?.server_name, version: nc.info?.version, name: opts.name }, 'nats: connected');
  void logStatus(nc, logger, safeUrl);
  void nc.closed().then((err) => {
    if (err) logger.error({ url: safeUrl, err: err.message }, 'nats: connection closed with error');
    else logger.info({ url: safeUrl }, 'nats: connection closed');
  });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  let closing: Promise<void> | undefined;
  return {
    nc,
    js,
    jsm,
    names,
    logger,
    close() {
      closing ??= nc.isClosed() ? Promise.resolve() : nc.drain().catch(() => nc.close());
      return closing;
    },
  };
}

async function logStatus(nc: NatsConnection, logger: BusLogger, url: string): Promise<void> {
  let reconnecting = false;
  for await (const s of nc.status()) {
    switch (s.type) {
      case 'disconnect':
        logger.warn({ url, server: s.server }, 'nats: disconnected, reconnecting');
        break;
      case 'reconnecting':
        if (!reconnecting) logger.info({ url }, 'nats: reconnect attempt in progress');
        reconnecting = true;
        break;
      case 'reconnect':
        reconnecting = false;
        logger.info({ url, server: s.server }, 'nats: reconnected');
        break;
      case 'error':
        logger.error({ url, err: s.error.message }, 'nats: server error');
        break;
      case 'ldm':
        logger.warn({ url, server: s.server }, 'nats: server entering lame duck mode');
        break;
      case 'staleConnection':
        logger.warn({ url }, 'nats: stale connection');
        break;
      case 'slowConsumer':
        logger.warn({ url, subject: s.sub.getSubject(), pending: s.pending }, 'nats: slow consumer');
        break;
      default:
        break;
    }
  }
}
