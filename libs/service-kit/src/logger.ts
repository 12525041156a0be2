// Structured JSON logs (pino) with secrets redacted: values under keys that look like credentials
// (password, token, secret, authorization, api key, cookie) and user:pass@ parts of URLs.
import { destination, pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.ts';

export type { Logger } from 'pino';

const SECRET_KEY =
  /pass(word)?|passwd|token|secret|authorization|api[-_]?key|cookie|credential|private[-_]?key/i;
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]*(:[^\s/@]*)?@/gi;

/** Replaces `scheme://user:pass@` with `scheme://***@` anywhere in a string. */
export function redactString(s: string): string {
  return s.replace(URL_CREDENTIALS, '$1***@');
}

/** Deep copy of a log object with secret-looking keys masked and URL credentials removed. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (value instanceof Error) {
    return {
      type: value.name,
      message: redactString(value.message),
      stack: value.stack ? redactString(value.stack) : undefined,
    };
  }
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      SECRET_KEY.test(k) && v !== undefined && v !== null && v !== ''
        ? '[redacted]'
        : redactValue(v, depth + 1);
  }
  return out;
}

export interface LoggerOptions {
  level: LogLevel;
  /** service or process name, on every line */
  name: string;
  /** where lines go (tests); default stdout */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level,
      base: { pid: process.pid },
      timestamp: stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => redactValue(obj) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === 'string' ? redactString(a) : a)) as Parameters<typeof method>,
          );
        },
      },
    },
    opts.destination ?? destination({ sync: true }),
  );
}
