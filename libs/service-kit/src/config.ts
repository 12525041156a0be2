// Service configuration from TUNELOOP_* environment variables, validated with zod at start:
// every bad value is reported, one line each, naming the variable and what it must be.
import path from 'node:path';
import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServiceConfig {
  /** data directory (absolute); TUNELOOP_HOME, default ./.tuneloop */
  home: string;
  /** gRPC host to listen on / connect to */
  grpcHost: string;
  /** gRPC port; 0 picks a free port */
  grpcPort: number;
  /** Prometheus /metrics port; 0 picks a free port */
  metricsPort: number;
  natsUrl: string;
  /** prefix isolating this deployment's NATS streams and subjects ('' in production) */
  natsPrefix: string;
  /** postgres:// URL or sqlite:<file>; undefined means SQLite at <home>/tuneloop.db */
  databaseUrl?: string;
  logLevel: LogLevel;
  /** largest gRPC message accepted, in bytes */
  maxReceiveBytes: number;
  /** how long in-flight RPCs may run after SIGTERM before they are cancelled */
  shutdownGraceMs: number;
  /** tfjs backend override, read by @tuneloop/engine */
  backend?: 'tensorflow' | 'wasm' | 'cpu';
}

/** One line per bad variable: `TUNELOOP_GRPC_PORT: must be an integer 0-65535, got "abc"`. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

type Env = Record<string, string | undefined>;

function int(min: number, max: number, note = '') {
  return z.string().transform((s, ctx) => {
    const n = Number(s.trim());
    if (s.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `must be an integer ${min}-${max}${note}, got ${JSON.stringify(s)}`,
      });
      return z.NEVER;
    }
    return n;
  });
}

function oneOf<T extends string>(values: readonly T[]) {
  return z.string().transform((s, ctx) => {
    if (!(values as readonly string[]).includes(s)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `must be one of ${values.join(', ')}, got ${JSON.stringify(s)}`,
      });
      return z.NEVER;
    }
    return s as T;
  });
}

/** `host:port` (IPv6 in brackets); the port is checked like TUNELOOP_GRPC_PORT. */
const hostPort = z.string().transform((s, ctx) => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: `must be host:port with a port 0-65535, got ${JSON.stringify(s)}`,
    });
    return z.NEVER;
  }
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
});

function url(schemes: string[], shown: string) {
  return z.string().transform((s, ctx) => {
    let u: URL | undefined;
    try {
      u = new URL(s);
    } catch {
      u = undefined;
    }
    if (!u || !schemes.includes(u.protocol)) {
      // never echo the value: a URL may carry credentials
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be a URL starting with ${shown}` });
      return z.NEVER;
    }
    return s;
  });
}

const schema = z.object({
  TUNELOOP_HOME: z.string().min(1, 'must not be empty').optional(),
  TUNELOOP_GRPC_ADDR: hostPort.optional(),
  TUNELOOP_GRPC_PORT: int(0, 65535, ' (0: any free port)').optional(),
  TUNELOOP_METRICS_PORT: int(0, 65535, ' (0: any free port)').optional(),
  TUNELOOP_NATS_URL: url(['nats:', 'tls:'], 'nats:// or tls://').optional(),
  TUNELOOP_NATS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/, 'must contain only letters, digits, "_" and "-"')
    .optional(),
  TUNELOOP_DATABASE_URL: url(
    ['postgres:', 'postgresql:', 'sqlite:'],
    'postgres://, postgresql:// or sqlite:',
  ).optional(),
  TUNELOOP_LOG_LEVEL: oneOf(LOG_LEVELS).optional(),
  TUNELOOP_GRPC_MAX_RECEIVE_BYTES: int(1024, 2 ** 31 - 1).optional(),
  TUNELOOP_SHUTDOWN_GRACE_MS: int(0, 3_600_000).optional(),
  TUNELOOP_BACKEND: oneOf(['tensorflow', 'wasm', 'cpu'] as const).optional(),
});

/** Documentation of every variable (README table, `--help`). */
export const CONFIG_VARIABLES: { name: keyof z.input<typeof schema>; default: string; meaning: string }[] = [
  {
    name: 'TUNELOOP_HOME',
    default: './.tuneloop',
    meaning: 'data directory (SQLite file, NATS store when started by npm start, blobs)',
  },
  {
    name: 'TUNELOOP_GRPC_ADDR',
    default: '127.0.0.1:50051',
    meaning: 'gRPC address servers listen on and clients (CLI, doctor) connect to',
  },
  {
    name: 'TUNELOOP_GRPC_PORT',
    default: '(port of TUNELOOP_GRPC_ADDR)',
    meaning: 'overrides the port only; 0 picks a free port',
  },
  {
    name: 'TUNELOOP_METRICS_PORT',
    default: '9464',
    meaning: 'Prometheus /metrics HTTP port (same host as gRPC); 0 picks a free port',
  },
  {
    name: 'TUNELOOP_NATS_URL',
    default: 'nats://127.0.0.1:4222',
    meaning: 'NATS server with JetStream (credentials allowed in the URL; never logged)',
  },
  {
    name: 'TUNELOOP_NATS_PREFIX',
    default: '(empty)',
    meaning: 'prefix of stream and subject names, to isolate a deployment (tests)',
  },
  {
    name: 'TUNELOOP_DATABASE_URL',
    default: '(unset: SQLite under TUNELOOP_HOME)',
    meaning: 'postgres://user:pass@host:5432/db, or sqlite:<file>',
  },
  { name: 'TUNELOOP_LOG_LEVEL', default: 'info', meaning: `pino level: ${LOG_LEVELS.join(', ')}` },
  {
    name: 'TUNELOOP_GRPC_MAX_RECEIVE_BYTES',
    default: '16777216',
    meaning: 'largest gRPC message accepted (larger: RESOURCE_EXHAUSTED)',
  },
  {
    name: 'TUNELOOP_SHUTDOWN_GRACE_MS',
    default: '10000',
    meaning: 'after SIGTERM, how long in-flight RPCs may finish before they are cancelled',
  },
  { name: 'TUNELOOP_BACKEND', default: '(auto)', meaning: 'tfjs backend: tensorflow, wasm or cpu' },
];

/**
 * Reads and validates the TUNELOOP_* variables of `env` (default process.env). Empty strings count
 * as unset. Throws ConfigError listing every bad variable.
 */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): ServiceConfig {
  const input: Env = {};
  for (const key of Object.keys(schema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') input[key] = v;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const addr = e.TUNELOOP_GRPC_ADDR ?? { host: '127.0.0.1', port: 50051 };
  return {
    home: path.resolve(cwd, e.TUNELOOP_HOME ?? '.tuneloop'),
    grpcHost: addr.host,
    grpcPort: e.TUNELOOP_GRPC_PORT ?? addr.port,
    metricsPort: e.TUNELOOP_METRICS_PORT ?? 9464,
    natsUrl: e.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222',
    natsPrefix: e.TUNELOOP_NATS_PREFIX ?? '',
    databaseUrl: e.TUNELOOP_DATABASE_URL,
    logLevel: e.TUNELOOP_LOG_LEVEL ?? 'info',
    maxReceiveBytes: e.TUNELOOP_GRPC_MAX_RECEIVE_BYTES ?? 16 * 1024 * 1024,
    shutdownGraceMs: e.TUNELOOP_SHUTDOWN_GRACE_MS ?? 10_000,
    backend: e.TUNELOOP_BACKEND,
  };
}

/** `host:port` for a gRPC client (IPv6 hosts bracketed; a wildcard host becomes loopback). */
export function grpcTarget(host: string, port: number): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`;
}
