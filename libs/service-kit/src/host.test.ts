// ServiceHost over a real socket: typed handlers of every streaming kind, error mapping without
// stack traces, request ids, deadlines reaching the handler, size limits, health, reflection, metrics.
import { Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import {
  HealthCheckResponse_ServingStatus,
  HealthClient,
  ModelInfo,
  ModelStoreServiceClient,
  ModelStoreServiceService,
  RolloutServiceClient,
  RolloutServiceService,
  type GenerateResponse,
  type VerifyResponse,
} from '@tuneloop/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors.ts';
import type { ServiceModule } from './bootstrap.ts';
import { startTestServices, type TestServices } from './testing.ts';

const seen: { abortReason?: string } = {};

const testModule: ServiceModule = {
  name: 'test',
  start({ host }) {
    host.register(
      RolloutServiceService,
      {
        async verify(req, ctx) {
          const p = req.items[0]?.prompt;
          if (p === 'boom') throw new Error('db password=xyz failed at /srv/secret.ts:12');
          if (p === 'bad') throw new InvalidArgumentError('items[0].completion', 'must not be empty');
          if (p === 'slow') {
            await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
            seen.abortReason = (ctx.signal.reason as Error).message;
          }
          return {
            results: req.items.map((i) => ({
              score: i.completion.length,
              passed: true,
              detail: ctx.requestId,
            })),
          };
        },
        async *generate(req) {
          for (let i = 0; i < 3; i++)
            yield {
              index: 0,
              textDelta: `${req.input?.$case === 'prompt' ? req.input.value : ''}${i}`,
              tokenIds: [i],
              logprob: -i,
              tokenLogprobs: [-i],
              finishReason: 0,
            };
        },
      },
      { unimplemented: 'issue 7 builds it' },
    );
    host.register(
      ModelStoreServiceService,
      {
        async uploadModel(requests) {
          let bytes = 0;
          let name = '';
          for await (const r of requests) {
            if (r.part?.$case === 'header') name = r.part.value.ref?.name ?? '';
            if (r.part?.$case === 'chunk') bytes += r.part.value.data.length;
          }
          return {
            model: ModelInfo.fromPartial({
              ref: { name, version: '1' },
              files: [{ path: 'w', size: bytes, sha256: '' }],
            }),
          };
        },
      },
      { unimplemented: 'issue 4 builds it' },
    );
  },
};

let svc: TestServices;
let rollout: RolloutServiceClient;

function unary<Res>(
  invoke: (cb: (err: ServiceError | null, res: Res) => void) => void,
): Promise<{ err: ServiceError | null; res?: Res }> {
  return new Promise((resolve) => invoke((err, res) => resolve({ err, res })));
}

beforeAll(async () => {
  svc = await startTestServices([testModule], { TUNELOOP_GRPC_MAX_RECEIVE_BYTES: '4096' });
  rollout = new RolloutServiceClient(svc.target, credentials.createInsecure());
});
afterAll(async () => {
  rollout.close();
  await svc.close();
});

describe('ServiceHost', () => {
  it('answers health SERVING for each registered service and the server, NOT_FOUND for others', async () => {
    const health = new HealthClient(svc.target, credentials.createInsecure());
    for (const service of ['', 'tuneloop.v1.RolloutService', 'tuneloop.v1.ModelStoreService']) {
      const { err, res } = await unary<{ status: number }>((cb) => health.check({ service }, cb));
      expect(err).toBeNull();
      expect(res?.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    }
    const { err } = await unary((cb) => health.check({ service: 'tuneloop.v1.Nope' }, cb));
    expect(err?.code).toBe(status.NOT_FOUND);
    health.close();
  });

  it('runs a unary handler and echoes the request id', async () => {
    const md = new Metadata();
    md.set('x-request-id', 'req-42');
    const { err, res } = await unary<VerifyResponse>((cb) =>
      rollout.verify({ items: [{ prompt: 'p', completion: 'abc', reference: '' }], verifierJson: '' }, md, cb),
    );
    expect(err).toBeNull();
    expect(res?.results[0]).toMatchObject({ score: 3, passed: true, detail: 'req-42' });
  });

  it('maps named errors to their status with the field, and unknown errors to INTERNAL without details', async () => {
    const bad = await unary((cb) =>
      rollout.verify({ items: [{ prompt: 'bad', completion: '', reference: '' }], verifierJson: '' }, cb),
    );
    expect(bad.err?.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.err?.details).toBe('items[0].completion: must not be empty');
    expect(bad.err?.metadata.get('field')).toEqual(['items[0].completion']);
    const boom = await unary((cb) =>
      rollout.verify({ items: [{ prompt: 'boom', completion: '', reference: '' }], verifierJson: '' }, cb),
    );
    expect(boom.err?.code).toBe(status.INTERNAL);
    expect(boom.err?.details).toMatch(/^internal error \(request id [\w-]+\)$/);
    expect(boom.err?.details).not.toContain('password');
    expect(boom.err?.details).not.toContain('.ts');
  });

  it('answers UNIMPLEMENTED naming the issue for methods without a handler (unary and streaming)', async () => {
    const r = await unary((cb) => rollout.generateGroups({ prompts: [], groupSize: 2, verifierJson: '' }, cb));
    expect(r.err?.code).toBe(status.UNIMPLEMENTED);
    expect(r.err?.details).toBe(
      'tuneloop.v1.RolloutService/GenerateGroups is not built yet: issue 7 builds it',
    );
    const store = new ModelStoreServiceClient(svc.target, credentials.createInsecure());
    const code = await new Promise<number>((resolve) => {
      const s = store.getModel({ ref: { name: 'm', version: '' }, path: 'x', offset: 0, chunkSize: 0 });
      s.on('data', () => undefined);
      s.on('error', (e: ServiceError) => resolve(e.code));
    });
    expect(code).toBe(status.UNIMPLEMENTED);
    store.close();
  });

  it('streams server responses and reads client streams', async () => {
    const got: GenerateResponse[] = [];
    await new Promise<void>((resolve, reject) => {
      const s = rollout.generate({ input: { $case: 'prompt', value: 'x' }, n: 1 });
      s.on('data', (m: GenerateResponse) => got.push(m));
      s.on('end', resolve);
      s.on('error', reject);
    });
    expect(got.map((m) => m.textDelta)).toEqual(['x0', 'x1', 'x2']);
    const store = new ModelStoreServiceClient(svc.target, credentials.createInsecure());
    const res = await new Promise<{ model?: { files: { size: number }[] } }>((resolve, reject) => {
      const up = store.uploadModel((err, r) => (err ? reject(err) : resolve(r)));
      up.write({
        part: { $case: 'header', value: { ref: { name: 'm', version: '' }, quantization: 0, files: [] } },
      });
      for (let i = 0; i < 3; i++)
        up.write({
          part: {
            $case: 'chunk',
            value: { path: 'w', offset: i * 1000, data: Buffer.alloc(1000), sha256: '', last: i === 2 },
          },
        });
      up.end();
    });
    expect(res.model?.files[0].size).toBe(3000);
    store.close();
  });

  it('aborts the handler at the deadline and answers DEADLINE_EXCEEDED', async () => {
    const started = Date.now();
    const r = await unary((cb) =>
      rollout.verify(
        { items: [{ prompt: 'slow', completion: '', reference: '' }], verifierJson: '' },
        new Metadata(),
        { deadline: Date.now() + 300 },
        cb,
      ),
    );
    expect(r.err?.code).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(2000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen.abortReason).toBe('deadline');
  });

  it('rejects a request over TUNELOOP_GRPC_MAX_RECEIVE_BYTES with RESOURCE_EXHAUSTED', async () => {
    const r = await unary((cb) =>
      rollout.verify({ items: [{ prompt: 'p', completion: 'x'.repeat(8000), reference: '' }], verifierJson: '' }, cb),
    );
    expect(r.err?.code).toBe(status.RESOURCE_EXHAUSTED);
  });

  it('serves Prometheus metrics with request counts by code and latencies', async () => {
    const text = await (await fetch(`http://127.0.0.1:${svc.metricsPort}/metrics`)).text();
    expect(text).toMatch(
      /tuneloop_grpc_requests_total\{service="tuneloop.v1.RolloutService",method="Verify",code="INVALID_ARGUMENT"\} 1/,
    );
    expect(text).toMatch(
      /tuneloop_grpc_requests_total\{service="tuneloop.v1.RolloutService",method="GenerateGroups",code="UNIMPLEMENTED"\} 1/,
    );
    expect(text).toContain('tuneloop_grpc_request_duration_seconds_bucket');
    expect(text).toContain('tuneloop_jobs_in_flight');
  });

  it('answers server reflection with the registered services', async () => {
    const { loadSync } = await import('@grpc/proto-loader');
    const grpc = await import('@grpc/grpc-js');
    const protoPath = new URL(
      '../../../node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto',
      import.meta.url,
    ).pathname;
    const pkg = grpc.loadPackageDefinition(loadSync(protoPath, { keepCase: true })) as unknown as {
      grpc: {
        reflection: {
          v1: {
            ServerReflection: new (
              t: string,
              c: ReturnType<typeof credentials.createInsecure>,
            ) => { serverReflectionInfo(): NodeJS.ReadWriteStream & { end(): void } };
          };
        };
      };
    };
    const client = new pkg.grpc.reflection.v1.ServerReflection(svc.target, credentials.createInsecure());
    const names = await new Promise<string[]>((resolve, reject) => {
      const s = client.serverReflectionInfo();
      s.on('data', (m: { list_services_response?: { service: { name: string }[] } }) => {
        resolve((m.list_services_response?.service ?? []).map((x) => x.name));
        s.end();
      });
      s.on('error', reject);
      s.write({ list_services: '' } as never);
    });
    expect(names.sort()).toEqual([
      'grpc.health.v1.Health',
      'tuneloop.v1.ModelStoreService',
      'tuneloop.v1.RolloutService',
    ]);
  });

  it('lets a real reflection client (buf curl) resolve every registered service and its methods', async () => {
    const { execFile } = await import('node:child_process');
    const buf = new URL('../../../node_modules/.bin/buf', import.meta.url).pathname;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        buf,
        ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', '--list-methods', `http://${svc.target}`],
        (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)),
      ),
    );
    const methods = out.trim().split('\n');
    expect(methods).toContain('tuneloop.v1.RolloutService/GenerateGroups');
    expect(methods).toContain('tuneloop.v1.ModelStoreService/ListModels');
    expect(methods).toContain('grpc.health.v1.Health/Check');
  });
});
