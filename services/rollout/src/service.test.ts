// rollout on a real port: grpc.health.v1 answers SERVING through the generated client, and a method
// not built yet answers UNIMPLEMENTED naming the issue that builds it.
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import {
  VerifyRequest,
  RolloutServiceClient,
  HealthCheckResponse_ServingStatus,
  HealthClient,
} from '@tuneloop/proto';
import { startTestServices, type TestServices } from '@tuneloop/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_NAME, rollout } from './service.ts';

let svc: TestServices;
beforeAll(async () => {
  svc = await startTestServices([rollout]);
});
afterAll(() => svc.close());

describe('rollout service', () => {
  it('answers health SERVING on its real port', async () => {
    const health = new HealthClient(svc.target, credentials.createInsecure());
    const res = await new Promise<{ status: number }>((resolve, reject) =>
      health.check({ service: SERVICE_NAME }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    health.close();
    expect(SERVICE_NAME).toBe('tuneloop.v1.RolloutService');
    expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it('answers UNIMPLEMENTED for a method not built yet, naming the issue', async () => {
    const client = new RolloutServiceClient(svc.target, credentials.createInsecure());
    const err = await new Promise<ServiceError | null>((resolve) =>
      client.verify(VerifyRequest.fromPartial({}), (e) => resolve(e)),
    );
    client.close();
    expect(err?.code).toBe(status.UNIMPLEMENTED);
    expect(err?.details).toContain('issue 7');
  });
});
