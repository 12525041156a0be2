// TUNELOOP_* configuration: defaults, overrides, and one clear line per bad variable.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env, '/srv');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('uses the documented defaults', () => {
    const c = loadConfig({}, '/srv');
    expect(c).toMatchObject({
      home: '/srv/.tuneloop',
      grpcHost: '127.0.0.1',
      grpcPort: 50051,
      metricsPort: 9464,
      natsUrl: 'nats://127.0.0.1:4222',
      natsPrefix: '',
      logLevel: 'info',
      maxReceiveBytes: 16 * 1024 * 1024,
      shutdownGraceMs: 10_000,
    });
    expect(c.databaseUrl).toBeUndefined();
  });

  it('reads overrides; TUNELOOP_GRPC_PORT overrides the port of TUNELOOP_GRPC_ADDR', () => {
    const c = loadConfig(
      {
        TUNELOOP_GRPC_ADDR: '0.0.0.0:6000',
        TUNELOOP_GRPC_PORT: '7000',
        TUNELOOP_HOME: 'data',
        TUNELOOP_LOG_LEVEL: 'debug',
        TUNELOOP_DATABASE_URL: 'postgres://u:p@db:5432/x',
        TUNELOOP_GRPC_MAX_RECEIVE_BYTES: '4096',
      },
      '/srv',
    );
    expect(c).toMatchObject({
      grpcHost: '0.0.0.0',
      grpcPort: 7000,
      home: '/srv/data',
      logLevel: 'debug',
      maxReceiveBytes: 4096,
    });
    expect(loadConfig({ TUNELOOP_GRPC_ADDR: '[::1]:5' }).grpcHost).toBe('::1');
  });

  it('names the variable, the rule and the value', () => {
    expect(problems({ TUNELOOP_GRPC_PORT: 'abc' })).toEqual([
      'TUNELOOP_GRPC_PORT: must be an integer 0-65535 (0: any free port), got "abc"',
    ]);
    expect(problems({ TUNELOOP_METRICS_PORT: '70000' })).toEqual([
      'TUNELOOP_METRICS_PORT: must be an integer 0-65535 (0: any free port), got "70000"',
    ]);
    expect(problems({ TUNELOOP_LOG_LEVEL: 'loud' })[0]).toBe(
      'TUNELOOP_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    );
    expect(problems({ TUNELOOP_GRPC_ADDR: 'localhost' })[0]).toBe(
      'TUNELOOP_GRPC_ADDR: must be host:port with a port 0-65535, got "localhost"',
    );
  });

  it('reports every bad variable at once, one line each', () => {
    const p = problems({
      TUNELOOP_GRPC_PORT: '-1',
      TUNELOOP_SHUTDOWN_GRACE_MS: '1.5',
      TUNELOOP_NATS_PREFIX: 'a b',
    });
    expect(p).toHaveLength(3);
    expect(p.map((l) => l.split(':')[0]).sort()).toEqual([
      'TUNELOOP_GRPC_PORT',
      'TUNELOOP_NATS_PREFIX',
      'TUNELOOP_SHUTDOWN_GRACE_MS',
    ]);
  });

  it('never echoes a URL that may hold credentials', () => {
    const [line] = problems({ TUNELOOP_DATABASE_URL: 'mysql://admin:hunter2@db/x' });
    expect(line).toBe(
      'TUNELOOP_DATABASE_URL: must be a URL starting with postgres://, postgresql:// or sqlite:',
    );
    expect(line).not.toContain('hunter2');
  });
});
