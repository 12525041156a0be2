// `tuneloop jobs ls|watch|cancel` across job kinds: one real gRPC server with the model store, the adapter trainer
// (train.sft), the reward-model service (train.reward) and the preference optimizer (optimize.preference / .rl) on
// real NATS (isolated names), the real CLI entry point. A reward job and a DPO job are followed by `jobs watch`
// (routed to WatchRewardJob / WatchOptimizationJob by the id); a long SFT job shows its live step in `jobs ls` and
// is stopped by `jobs cancel` (CancelTrainingJob); ls lists the three kinds with kind, state, progress and output,
// --kind / --status filter; a service missing at the address is skipped, or an error when --kind asks for it;
// bad flags and ids exit 2.
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Bus } from '@tuneloop/bus';
import type { TestServices } from '@tuneloop/service-kit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../test-run.ts';

const prefix = `t${randomUUID().slice(0, 8)}`;
let svc: TestServices;
let storeOnly: TestServices;
let bus: Bus;
let home: { home: string; base: string; data: string; cleanup(): Promise<void> };
let deprovision: (b: Bus) => Promise<void>;
let prefs: string;

beforeAll(async () => {
  const [trainer, store, reward, optimizer, busLib, kit] = await Promise.all([
    import('@tuneloop/adapter-trainer'), import('@tuneloop/model-store'), import('@tuneloop/reward-model'), import('@tuneloop/preference-optimizer'),
    import('@tuneloop/bus'), import('@tuneloop/service-kit'),
  ]);
  deprovision = busLib.deprovision;
  home = await trainer.tempTrainerHome(48);
  prefs = path.join(home.home, 'prefs.jsonl');
  const pairs = Array.from({ length: 32 }, (_, i) => ({ a: i % 5, b: (i * 3) % 5 }));
  await writeFile(prefs, pairs.map(({ a, b }) => JSON.stringify({ prompt: `${a}+${b}=`, chosen: String(a + b), rejected: String(a + b + 1) })).join('\n') + '\n');
  bus = await busLib.connectBus({ url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'cli-jobs-test', prefix });
  await busLib.provision(bus, { prefix, storage: 'memory' });
  const env = { TUNELOOP_HOME: home.home, TUNELOOP_NATS_PREFIX: prefix };
  svc = await kit.startTestServices([store.modelStore, trainer.adapterTrainer, reward.rewardModel, optimizer.preferenceOptimizer], env);
  storeOnly = await kit.startTestServices([store.modelStore], env);
}, 60_000);

afterAll(async () => {
  await storeOnly?.close();
  await svc?.close();
  if (bus) await deprovision(bus).catch(() => undefined);
  await bus?.close();
  await home?.cleanup();
});

const run = (...args: string[]) => runCli([...args, '--addr', svc.target]);
const json = <T>(s: string) => JSON.parse(s) as T;
interface View { jobId: string; kind: string; status: string; output: string; step: number; totalSteps: number; progress: string; error: string }

it('ls / watch / cancel route by kind: reward and DPO jobs watched to the end, a running SFT job cancelled', async () => {
  const r = await run('reward', 'train', '--base', home.base, '--data', prefs, '--steps', '8', '--batch-size', '8', '--rank', '4', '--lr', '0.02', '--json');
  expect(r.code, r.err).toBe(0);
  const rmId = json<{ jobId: string }>(r.out).jobId;
  expect(rmId).toMatch(/^rm-/);
  const d = await run('optimize', 'dpo', '--policy', home.base, '--data', prefs, '--steps', '3', '--batch-size', '8', '--rank', '4', '--json');
  expect(d.code, d.err).toBe(0);
  const prefId = json<{ jobId: string }>(d.out).jobId;
  expect(prefId).toMatch(/^pref-/);

  // jobs watch on a reward job: WatchRewardJob, a progress line per step, the stored reward model at the end
  const w = await run('jobs', 'watch', rmId);
  expect(w.code, w.err).toBe(0);
  expect(w.err).toMatch(/^\[8\/8\] loss \d+(\.\d+)? acc \d/m);
  expect(w.out).toBe(`${rmId} succeeded: reward model tiny-rm@${rmId}\n`);
  const wj = await run('jobs', 'watch', rmId, '--json');
  const events = wj.out.trim().split('\n').map((l) => json<{ jobId: string; status: string; step: number; metrics: Record<string, number> }>(l));
  expect(events.filter((e) => e.step > 0 && e.metrics.loss !== undefined).map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  expect(events.at(-1)!.status).toBe('succeeded');
  // jobs watch on a DPO job: WatchOptimizationJob, preference metrics in the progress lines
  const wd = await run('jobs', 'watch', prefId);
  expect(wd.code, wd.err).toBe(0);
  expect(wd.err).toMatch(/^\[3\/3\] loss \S+ eval loss \S+ acc \S+ margin \S+ eval acc \S+/m);
  expect(wd.out).toBe(`${prefId} succeeded: adapter tiny-dpo@${prefId}\n`);

  // a long SFT job: its live step shows in ls (the newest step event), then jobs cancel (CancelTrainingJob)
  const s = await run('train', 'sft', '--base', home.base, '--data', home.data, '--method', 'lora', '--rank', '4', '--max-steps', '5000', '--json');
  expect(s.code, s.err).toBe(0);
  const sftId = json<{ jobId: string }>(s.out).jobId;
  let live: View | undefined;
  for (const end = Date.now() + 30_000; Date.now() < end; await new Promise((res) => setTimeout(res, 200))) {
    const l = await run('jobs', 'ls', '--kind', 'train.sft', '--status', 'running', '--json');
    live = json<View[]>(l.out).find((j) => j.jobId === sftId);
    if (live && live.step >= 2) break;
  }
  expect(live).toMatchObject({ kind: 'train.sft', status: 'running', totalSteps: 5000 });
  expect(live!.step).toBeGreaterThanOrEqual(2);
  const c = await run('jobs', 'cancel', sftId, '--json');
  expect(c.code, c.err).toBe(0);
  const cancelled = json<View>(c.out);
  expect(cancelled).toMatchObject({ jobId: sftId, kind: 'train.sft', status: 'cancelled' });
  expect(cancelled.step).toBeGreaterThanOrEqual(live!.step);
  expect(cancelled.progress).toBe(`${cancelled.step}/5000`);

  // ls: the three kinds, newest first, with kind, state, progress, output; filters
  const all = json<View[]>((await run('jobs', 'ls', '--json')).out);
  expect(all.map((j) => j.jobId)).toEqual([sftId, prefId, rmId]);
  expect(all[2]).toMatchObject({ kind: 'train.reward', status: 'succeeded', progress: '8/8', output: `tiny-rm@${rmId}` });
  expect(all[1]).toMatchObject({ kind: 'optimize.preference', status: 'succeeded', progress: '3/3', output: `tiny-dpo@${prefId}` });
  expect(all[0]).toMatchObject({ kind: 'train.sft', status: 'cancelled', progress: cancelled.progress, error: 'cancelled by request' });
  expect(json<View[]>((await run('jobs', 'ls', '--kind', 'train.reward', '--json')).out).map((j) => j.jobId)).toEqual([rmId]);
  expect(json<View[]>((await run('jobs', 'ls', '--status', 'cancelled', '--json')).out).map((j) => j.jobId)).toEqual([sftId]);
  expect(json<View[]>((await run('jobs', 'ls', '--kind', 'optimize.preference', '--json')).out).map((j) => j.jobId)).toEqual([prefId]);
  expect(json<View[]>((await run('jobs', 'ls', '--kind', 'optimize.rl', '--json')).out)).toEqual([]); // same service, other kind
  // an address without the job services: an error naming them (a plain ls skips only the missing ones)
  const none = await runCli(['jobs', 'ls', '--kind', 'optimize.rl', '--addr', storeOnly.target]);
  expect([none.code, none.err]).toEqual([1, 'tuneloop: no job service at this address (PreferenceOptimizerService: UNIMPLEMENTED)\n']);
  const noneAll = await runCli(['jobs', 'ls', '--addr', storeOnly.target]);
  expect(noneAll.err).toBe('tuneloop: no job service at this address (AdapterTrainerService, RewardModelService, PreferenceOptimizerService: UNIMPLEMENTED)\n');
  const table = await run('jobs', 'ls');
  expect(table.out.split('\n')[0]).toMatch(/^JOB +KIND +STATUS +PROGRESS +BASE +OUTPUT +CREATED$/);
  expect(table.out).toMatch(new RegExp(`^${rmId} +train\\.reward +succeeded +8/8 +\\S+ +tiny-rm@${rmId} `, 'm'));

  // finished jobs cannot be cancelled (routed to the reward service); bad flags and ids exit 2
  const again = await run('jobs', 'cancel', rmId);
  expect([again.code, again.err]).toEqual([1, `tuneloop: FAILED_PRECONDITION: job ${rmId}: already succeeded, cannot cancel\n`]);
  const k = await run('jobs', 'ls', '--kind', 'train.nope');
  expect([k.code, k.err]).toEqual([2, 'tuneloop: --kind: must be one of train.sft, train.reward, optimize.preference, optimize.rl, got \'train.nope\'\n']);
  const bad = await run('jobs', 'watch', 'job-1');
  expect(bad.code).toBe(2);
  expect(bad.err).toMatch(/^tuneloop: jobId: 'job-1' is not a job id \(job ids start with sft-, rm-, pref-, rl-\)/);
  const missing = await run('jobs', 'watch', 'rm-nope');
  expect([missing.code, missing.err]).toEqual([1, 'tuneloop: NOT_FOUND: job rm-nope: not found\n']);
}, 120_000);
