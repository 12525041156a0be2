// The labeling server's process-wide context (one per Node process, kept on globalThis because Next
// may load this module in several bundles): config, database, authenticator, outbox relay.
import { openStore, type Store } from '@tuneloop/store';
import { loadConfig, type LabelingConfig } from './config.ts';
import { Authenticator, ensureFirstAdmin } from './accounts.ts';
import { OutboxRelay } from './outbox-relay.ts';

export interface AppContext {
  config: LabelingConfig;
  store: Store;
  auth: Authenticator;
  relay: OutboxRelay | null;
}

const KEY = Symbol.for('tuneloop.labeling.context');
type Holder = { [KEY]?: Promise<AppContext> };

async function init(): Promise<AppContext> {
  const config = loadConfig();
  const store = await openStore({ url: config.databaseUrl, home: config.home });
  const admin = await ensureFirstAdmin(store.db, config.adminEmail, config.adminPassword);
  if (admin) console.log(`labeling: created the first admin ${admin.email}`);
  const logger = { info: () => undefined, warn: (o: object, m?: string) => console.warn(m, JSON.stringify(o)), error: (o: object, m?: string) => console.error(m, JSON.stringify(o)) };
  const relay = config.relay ? new OutboxRelay(store.db, { url: config.natsUrl, prefix: config.busPrefix, logger }) : null;
  relay?.start();
  const stop = async () => {
    await relay?.stop();
    await store.close();
  };
  process.once('SIGTERM', () => void stop().finally(() => process.exit(0)));
  process.once('SIGINT', () => void stop().finally(() => process.exit(0)));
  console.log(`labeling: database ${store.dialect} at ${store.location}; outbox relay ${relay ? `to ${config.natsUrl}` : 'off'}`);
  return { config, store, auth: new Authenticator(store.db, config.signinMaxFailures), relay };
}

export function getContext(): Promise<AppContext> {
  const g = globalThis as Holder;
  g[KEY] ??= init().catch((err) => {
    delete g[KEY];
    throw err;
  });
  return g[KEY];
}
