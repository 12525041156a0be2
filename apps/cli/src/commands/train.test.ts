// `tuneloop train sft --watch --json` and `tuneloop jobs ls|watch|cancel` against the adapter-trainer on a real
// gRPC port and the real NATS server: the job succeeds, bad input exits 2 with the service's INVALID_ARGUMENT.
import { randomUUID } from 'node:crypto';
import type { Bus } from '@tuneloop/bus';
import type { TestServices } from '@tuneloop/service-kit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../test-run.ts';

const prefix = `t${randomUUID().slice(0, 8)}`;
let svc: TestServices;
let bus: Bus;
let home: { home: string; base: string; data: string; cleanup(): Promise<void> };
let deprovision: (b: Bus) => Promise<void>;

beforeAll(async () => {
  const [trainer, store, busLib, kit] = await Promise.all([
    import('@tuneloop/adapter-trainer'),
    import('@tuneloop/model-store'),
    import('@tuneloop/bus'),
    import('@tuneloop/service-kit'),
  ]);
  const { connectBus, provision } = busLib;
  deprovision = busLib.deprovision;
  const { adapterTrainer } = trainer;
  const { startTestServices } = kit;
  home = await trainer.tempTrainerHome(48);
  bus = await connectBus({ url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'cli-train-test', prefix });
  await provision(bus, { prefix, storage: 'memory' });
  // The trainer stores the finished adapter in the model store before it acks the job.
  svc = await startTestServices([store.modelStore, adapterTrainer], { TUNELOOP_HOME: home.home, TUNELOOP_NATS_PREFIX: prefix });
});

afterAll(async () => {
  await svc?.close();
  await deprovision(bus).catch(() => undefined);
  await bus?.close();
  await home?.cleanup();
});

const run = (...args: string[]) => runCli([...args, '--addr', svc.target]);

it('train sft --watch --json streams events to success; jobs ls / watch / cancel', async () => {
  const r = await run('train', 'sft', '--base', home.base, '--data', home.data, '--method', 'lora', '--rank', '4', '--targets', 'q_proj,v_proj',
    '--lr', '0.02', '--max-steps', '12', '--eval-every', '6', '--output', 'cli-lora', '--watch', '--json');
  expect(r.code, r.err).toBe(0);
  const events = r.out.trim().split('\n').map((l) => JSON.parse(l) as { jobId: string; status: string; step: number; loss: number });
  expect(events.at(-1)!.status).toBe('succeeded');
  expect(events.filter((e) => e.loss > 0).map((e) => e.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  const jobId = events[0].jobId;

  const ls = await run('jobs', 'ls', '--json');
  expect(ls.code).toBe(0);
  expect(JSON.parse(ls.out)).toContainEqual(expect.objectContaining({ jobId, status: 'succeeded', output: `cli-lora@${jobId}` }));
  const w = await run('jobs', 'watch', jobId);
  expect(w.code).toBe(0);
  expect(w.out).toContain(`${jobId} succeeded: adapter cli-lora@${jobId}`);
  const c = await run('jobs', 'cancel', jobId);
  expect(c.code).toBe(1);
  expect(c.err).toContain('FAILED_PRECONDITION');
});

it('bad input exits 2 with the INVALID_ARGUMENT reason on one line', async () => {
  const r = await run('train', 'sft', '--base', home.base, '--data', home.data, '--method', 'lora', '--targets', 'nope_proj');
  expect(r.code).toBe(2);
  expect(r.err).toMatch(/^tuneloop: INVALID_ARGUMENT: lora config: target_modules: 'nope_proj' is not a linear module of the model/);
  const u = await run('train', 'sft', '--base', home.base, '--data', home.data, '--method', 'loha');
  expect(u.code).toBe(2);
  expect(u.err).toContain("unknown PEFT method 'loha'");
});
