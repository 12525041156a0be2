// Graceful shutdown with an open response stream (a Watch-style RPC): the stream ends with
// UNAVAILABLE "server shutting down; retry" at once instead of holding shutdown for the grace period.
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import {
  HealthCheckResponse_ServingStatus as S,
  HealthClient,
  RolloutServiceClient,
  RolloutServiceService,
} from '@tuneloop/proto';
import { describe, expect, it } from 'vitest';
import type { ServiceModule } from './bootstrap.ts';
import { startTestServices } from './testing.ts';

const endless: ServiceModule = {
  name: 'endless',
  start({ host }) {
    host.register(
      RolloutServiceService,
      {
        async *generate(_req, ctx) {
          yield { index: 0, textDelta: 'first', tokenIds: [], logprob: 0, tokenLogprobs: [], finishReason: 0 };
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        },
      },
      { unimplemented: 'not part of this test' },
    );
  },
};

describe('shutdown with an open response stream', () => {
  it('ends the stream with UNAVAILABLE and does not wait for the grace period', async () => {
    const svc = await startTestServices([endless], { TUNELOOP_SHUTDOWN_GRACE_MS: '20000' });
    const client = new RolloutServiceClient(svc.target, credentials.createInsecure());
    const stream = client.generate({ input: { $case: 'prompt', value: 'x' }, n: 1 });
    const ended = new Promise<ServiceError>((resolve) => stream.on('error', resolve));
    await new Promise((resolve) => stream.once('data', resolve));
    const started = Date.now();
    await svc.close();
    const err = await ended;
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toBe('server shutting down; retry');
    expect(err.metadata.get('retryable')).toEqual(['true']);
    expect(Date.now() - started).toBeLessThan(5000);
    client.close();
  });

  it('tells health watchers SERVING, then NOT_SERVING when shutdown begins, then ends the watch', async () => {
    const svc = await startTestServices([endless]);
    const health = new HealthClient(svc.target, credentials.createInsecure());
    const seen: number[] = [];
    const watch = health.watch({ service: 'tuneloop.v1.RolloutService' });
    const ended = new Promise<void>((resolve) => {
      watch.on('end', resolve);
      watch.on('error', () => resolve());
    });
    await new Promise<void>((resolve) =>
      watch.on('data', (m: { status: number }) => {
        seen.push(m.status);
        resolve();
      }),
    );
    await svc.close();
    await ended;
    expect(seen).toEqual([S.SERVING, S.NOT_SERVING]);
    health.close();
  });
});
