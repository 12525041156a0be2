// model-store on a real port: grpc.health.v1 answers SERVING, ListModels answers on an empty store,
// and TUNELOOP_MODEL_STORE_BACKEND is validated with a message naming the variable.
import { rm } from 'node:fs/promises';
import { credentials } from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus, HealthClient, ListModelsRequest, ModelStoreServiceClient, type ListModelsResponse } from '@tuneloop/proto';
import { startTestServices, type TestServices } from '@tuneloop/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test/fixtures/folders.ts';
import { SERVICE_NAME, backendFromEnv, modelStore } from './service.ts';

let svc: TestServices;
let home: string;
beforeAll(async () => {
  home = await tempDir();
  svc = await startTestServices([modelStore], { TUNELOOP_HOME: home });
});
afterAll(async () => {
  await svc.close();
  await rm(home, { recursive: true, force: true });
});

describe('model-store service', () => {
  it('answers health SERVING on its real port', async () => {
    const health = new HealthClient(svc.target, credentials.createInsecure());
    const res = await new Promise<{ status: number }>((resolve, reject) =>
      health.check({ service: SERVICE_NAME }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    health.close();
    expect(SERVICE_NAME).toBe('tuneloop.v1.ModelStoreService');
    expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it('lists no models in an empty store', async () => {
    const client = new ModelStoreServiceClient(svc.target, credentials.createInsecure());
    const res = await new Promise<ListModelsResponse>((resolve, reject) =>
      client.listModels(ListModelsRequest.fromPartial({}), (e, r) => (e ? reject(e) : resolve(r))),
    );
    client.close();
    expect(res.models).toEqual([]);
  });

  it('reads TUNELOOP_MODEL_STORE_BACKEND', () => {
    expect(backendFromEnv({})).toBe('fs');
    expect(backendFromEnv({ TUNELOOP_MODEL_STORE_BACKEND: 'nats' })).toBe('nats');
    expect(() => backendFromEnv({ TUNELOOP_MODEL_STORE_BACKEND: 's3' })).toThrow('TUNELOOP_MODEL_STORE_BACKEND: must be one of fs, nats, got "s3"');
  });
});
