// preference-optimizer on a real port: grpc.health.v1 answers SERVING through the generated client, and the job RPCs
// answer (an empty listing; a malformed job id is INVALID_ARGUMENT).
import { randomUUID } from 'node:crypto';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { connectBus, deprovision, provision, type Bus } from '@tuneloop/bus';
import {
  ListOptimizationJobsRequest,
  PreferenceOptimizerServiceClient,
  HealthCheckResponse_ServingStatus,
  HealthClient,
} from '@tuneloop/proto';
import { startTestServices, type TestServices } from '@tuneloop/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_NAME, preferenceOptimizerApi } from './service.ts';

const prefix = `t${randomUUID().slice(0, 8)}`;
let svc: TestServices;
let bus: Bus;
beforeAll(async () => {
  bus = await connectBus({ url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'optimizer-service-test', prefix });
  await provision(bus, { prefix, storage: 'memory' });
  svc = await startTestServices([preferenceOptimizerApi], { TUNELOOP_NATS_PREFIX: prefix });
});
afterAll(async () => {
  await svc?.close();
  await deprovision(bus).catch(() => undefined);
  await bus?.close();
});

describe('preference-optimizer service', () => {
  it('answers health SERVING on its real port', async () => {
    const health = new HealthClient(svc.target, credentials.createInsecure());
    const res = await new Promise<{ status: number }>((resolve, reject) =>
      health.check({ service: SERVICE_NAME }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    health.close();
    expect(SERVICE_NAME).toBe('tuneloop.v1.PreferenceOptimizerService');
    expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it('lists no jobs on a fresh deployment and names a malformed job id', async () => {
    const client = new PreferenceOptimizerServiceClient(svc.target, credentials.createInsecure());
    const list = await new Promise<{ jobs: unknown[] }>((resolve, reject) =>
      client.listOptimizationJobs(ListOptimizationJobsRequest.fromPartial({}), (e, r) => (e ? reject(e) : resolve(r))),
    );
    const err = await new Promise<ServiceError | null>((resolve) => client.getOptimizationJob({ jobId: 'no such id' }, (e) => resolve(e)));
    client.close();
    expect(list.jobs).toEqual([]);
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/^job_id: must match/);
  });
});
