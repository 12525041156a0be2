// Configuration of the labeling app from TUNELOOP_* environment variables, validated once at start
// (one clear error per bad value).
import path from 'node:path';

type Env = Record<string, string | undefined>;

export interface LabelingConfig {
  home: string;
  databaseUrl: string | undefined;
  natsUrl: string;
  /** bus name prefix (tests isolate their streams with it); '' in production */
  busPrefix: string;
  /** publish outbox rows on NATS (TUNELOOP_LABELING_RELAY=off disables, e.g. for a read-only replica) */
  relay: boolean;
  leaseMs: number;
  undoGraceMs: number;
  adminEmail: string | undefined;
  adminPassword: string | undefined;
  signinMaxFailures: number;
}

function int(env: Env, name: string, def: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name}: must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return v;
}

export function loadConfig(env: Env = process.env): LabelingConfig {
  const relay = env.TUNELOOP_LABELING_RELAY ?? 'on';
  if (relay !== 'on' && relay !== 'off') throw new RangeError(`TUNELOOP_LABELING_RELAY: must be on or off, got ${JSON.stringify(relay)}`);
  const adminEmail = env.TUNELOOP_ADMIN_EMAIL || undefined;
  const adminPassword = env.TUNELOOP_ADMIN_PASSWORD || undefined;
  if (!!adminEmail !== !!adminPassword) throw new RangeError('TUNELOOP_ADMIN_EMAIL / TUNELOOP_ADMIN_PASSWORD: set both or neither');
  return {
    // `npm start -w @tuneloop/labeling` runs in apps/labeling: a relative home is taken from where
    // npm was invoked (INIT_CWD), so the app and the CLI share ./.tuneloop at the repository root.
    home: path.resolve(env.INIT_CWD || process.cwd(), env.TUNELOOP_HOME || '.tuneloop'),
    databaseUrl: env.TUNELOOP_DATABASE_URL || undefined,
    natsUrl: env.TUNELOOP_NATS_URL || 'nats://127.0.0.1:4222',
    busPrefix: env.TUNELOOP_NATS_PREFIX ?? '',
    relay: relay === 'on',
    leaseMs: int(env, 'TUNELOOP_LABELING_LEASE_MS', 10 * 60_000, 1000),
    undoGraceMs: int(env, 'TUNELOOP_LABELING_UNDO_GRACE_MS', 15_000, 0),
    adminEmail,
    adminPassword,
    signinMaxFailures: int(env, 'TUNELOOP_LABELING_SIGNIN_MAX_FAILURES', 5, 1),
  };
}
