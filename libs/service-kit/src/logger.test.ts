// Log redaction: secrets never reach the log output, whatever key or URL carries them.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

function capture(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(c, _e, cb) {
      chunks.push(String(c));
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
  };
}

describe('createLogger', () => {
  it('writes JSON lines with level, name and message', () => {
    const c = capture();
    createLogger({ name: 'svc', level: 'info', destination: c.stream }).info({ requestId: 'r1' }, 'hello');
    expect(c.lines()[0]).toMatchObject({ level: 'info', name: 'svc', requestId: 'r1', msg: 'hello' });
  });

  it('redacts secret-looking keys at any depth and URL credentials in values and messages', () => {
    const c = capture();
    const log = createLogger({ name: 'svc', level: 'info', destination: c.stream });
    log.info(
      {
        password: 'hunter2',
        nested: { apiKey: 'k-123', authToken: 'tok-9', list: [{ client_secret: 's3' }] },
        db: 'postgres://admin:pw-77@db:5432/x',
        plain: 42,
      },
      'connecting to nats://user:natspw@host:4222',
    );
    const text = JSON.stringify(c.lines()[0]);
    for (const secret of ['hunter2', 'k-123', 'tok-9', 's3"', 'pw-77', 'natspw', 'admin:'])
      expect(text).not.toContain(secret);
    expect(c.lines()[0]).toMatchObject({
      password: '[redacted]',
      db: 'postgres://***@db:5432/x',
      plain: 42,
      msg: 'connecting to nats://***@host:4222',
    });
  });

  it('redacts credentials inside logged errors', () => {
    const c = capture();
    createLogger({ name: 'svc', level: 'info', destination: c.stream }).error(
      { err: new Error('cannot reach postgres://a:b-secret@h/db') },
      'failed',
    );
    expect(JSON.stringify(c.lines()[0])).not.toContain('b-secret');
  });
});
