// NATS for the local stack: use the server at TUNELOOP_NATS_URL when it answers with JetStream;
// otherwise start `nats-server -js` on that (local) address with its store under TUNELOOP_HOME/nats.
import { accessSync, constants, mkdirSync } from 'node:fs';
import path from 'node:path';
import { natsStatus } from '@tuneloop/bus';
import type { Logger } from '@tuneloop/service-kit';
import type { Children } from './children.ts';

/** A one-line reason the stack cannot start, printed as is. */
export class StartError extends Error {
  override name = 'StartError';
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** nats-server on PATH, or in /usr/sbin or /usr/local/bin; undefined if none. */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/sbin', '/usr/local/bin'];
  for (const dir of dirs) {
    const file = path.join(dir, 'nats-server');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Makes sure a JetStream-enabled NATS answers at `url`; returns whether this process started it. */
export async function ensureNats(
  url: string,
  home: string,
  children: Children,
  logger: Logger,
): Promise<{ started: boolean }> {
  const safe = url.replace(/\/\/[^@/]*@/, '//***@');
  const first = await natsStatus(url, 1500);
  if (first.reachable && first.jetstream) {
    logger.info({ url: safe, version: first.serverVersion }, 'using the running NATS server');
    return { started: false };
  }
  if (first.reachable) {
    throw new StartError(
      `NATS at ${safe} answers but JetStream is off: restart it with \`nats-server -js\` (${first.error ?? ''})`,
    );
  }
  const u = new URL(url);
  if (!LOOPBACK.has(u.hostname)) {
    throw new StartError(
      `NATS does not answer at ${safe}: start it there, or unset TUNELOOP_NATS_URL to use a local one`,
    );
  }
  const bin = findNatsServer();
  if (!bin) {
    throw new StartError(
      `NATS does not answer at ${safe} and nats-server is not installed: install it (apt-get install nats-server) and run \`nats-server -js\`, or set TUNELOOP_NATS_URL`,
    );
  }
  const dir = path.join(home, 'nats');
  mkdirSync(dir, { recursive: true });
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port || '4222';
  const child = children.spawn('nats-server', bin, [
    '-js',
    '-a',
    host,
    '-p',
    port,
    '-sd',
    dir,
    '-l',
    path.join(dir, 'nats-server.log'),
  ]);
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new StartError(
        `nats-server exited with code ${child.exitCode}: see ${path.join(dir, 'nats-server.log')}`,
      );
    const s = await natsStatus(url, 1000);
    if (s.reachable && s.jetstream) {
      logger.info({ url: safe, version: s.serverVersion, storeDir: dir }, 'started nats-server');
      return { started: true };
    }
    if (Date.now() > deadline)
      throw new StartError(
        `nats-server did not answer at ${safe} within 15 s: see ${path.join(dir, 'nats-server.log')}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
