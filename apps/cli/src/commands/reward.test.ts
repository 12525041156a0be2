// `tuneloop reward train|eval|score|watch|ls` through the reward-model service (the default): a real gRPC server
// with the model store and the reward-model service (real NATS, isolated names), the real CLI entry point.
// train --watch --json streams the job's events and ends with the stored ref; score / eval use that ref.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli as run } from '../test-run.ts';

const prefix = `t${randomUUID().slice(0, 8)}`;
let dir: string;
let addr: string;
let close: () => Promise<void>;

function pairs(n: number, seed: number): string {
  let s = seed;
  const r = (k: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), (s >>> 8) % k);
  return Array.from({ length: n }, () => {
    const a = r(5);
    const b = r(5);
    return JSON.stringify({ prompt: `${a}+${b}=`, chosen: String(a + b), rejected: String(a + b + 1 + r(3)) });
  }).join('\n') + '\n';
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tuneloop-cli-rm-'));
  const [{ writeTinyBase }, { connectBus, provision, deprovision }, { startTestServices }, { modelStore }, { rewardModel }] = await Promise.all([
    import('@tuneloop/adapter-trainer'), import('@tuneloop/bus'), import('@tuneloop/service-kit'), import('@tuneloop/model-store'), import('@tuneloop/reward-model'),
  ]);
  await writeTinyBase(join(dir, 'home', 'models', 'tiny'));
  await writeFile(join(dir, 'prefs.jsonl'), pairs(48, 1));
  await writeFile(join(dir, 'heldout.jsonl'), pairs(16, 7));
  await writeFile(join(dir, 'bad.jsonl'), `${pairs(1, 3)}{"prompt": "1+1=", "chosen": "2", "rejected": "2"}\n`);
  const bus = await connectBus({ url: process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'cli-rm-test', prefix });
  await provision(bus, { prefix, storage: 'memory' });
  const svc = await startTestServices([modelStore, rewardModel], { TUNELOOP_HOME: join(dir, 'home'), TUNELOOP_NATS_PREFIX: prefix });
  addr = svc.target;
  close = async () => {
    await svc.close();
    await deprovision(bus).catch(() => undefined);
    await bus.close();
  };
});
afterAll(async () => {
  await close?.();
  await rm(dir, { recursive: true, force: true });
});

describe('tuneloop reward (through the service)', () => {
  it('train --watch --json streams the job, then score and eval use the stored ref', async () => {
    const t = await run(['reward', 'train', '--base', 'tiny', '--data', join(dir, 'prefs.jsonl'), '--eval', join(dir, 'heldout.jsonl'), '--steps', '20', '--batch-size', '8', '--lr', '0.02', '--rank', '4', '--eval-every', '10', '--watch', '--json', '--addr', addr]);
    expect(t.code, t.err).toBe(0);
    const events = t.out.trim().split('\n').map((l) => JSON.parse(l) as { status: string; step: number; message: string; metrics: Record<string, number> });
    expect(events.filter((e) => e.step > 0 && e.metrics['rewards/accuracies'] !== undefined).map((e) => e.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const last = events.at(-1)!;
    expect(last.status).toBe('succeeded');
    const ref = /^reward model stored as (tiny-rm@rm-[\w-]+) \(held-out accuracy [\d.]+%\)$/.exec(last.message)?.[1];
    expect(ref, last.message).toBeDefined();
    const sc = await run(['reward', 'score', '--model', ref!, '--prompt', '2+2=', '--response', '4', '6', '--json', '--addr', addr]);
    expect(sc.code, sc.err).toBe(0);
    const rows = JSON.parse(sc.out) as { response: string; score: number }[];
    expect(rows.map((r) => r.response)).toEqual(['4', '6']);
    const ev = await run(['reward', 'eval', '--model', ref!, '--data', join(dir, 'heldout.jsonl'), '--json', '--addr', addr]);
    expect(ev.code, ev.err).toBe(0);
    const acc = JSON.parse(ev.out) as { accuracy: number; count: number };
    expect(acc.count).toBe(16);
    expect(acc.accuracy).toBeCloseTo(events.filter((e) => e.metrics.eval_accuracy !== undefined).at(-1)!.metrics.eval_accuracy, 6);
  }, 60_000);

  it('refuses bad input with the service\'s INVALID_ARGUMENT (exit 2); --local needs --out', async () => {
    const bad = await run(['reward', 'train', '--base', 'tiny', '--data', join(dir, 'bad.jsonl'), '--addr', addr]);
    expect(bad.code).toBe(2);
    expect(bad.err).toBe('tuneloop: INVALID_ARGUMENT: spec.dataset.uri: bad.jsonl: line 2: "chosen" and "rejected" are identical (a pair must differ)\n');
    const local = await run(['reward', 'train', '--local', '--base', 'tiny', '--data', join(dir, 'prefs.jsonl')]);
    expect(local.code).toBe(2);
    expect(local.err).toBe('tuneloop: --out: required with --local\n');
    const both = await run(['reward', 'train', '--local', '--base', 'tiny', '--data', join(dir, 'prefs.jsonl'), '--out', join(dir, 'never'), '--full', '--rank', '4']);
    expect([both.code, both.err]).toEqual([2, 'tuneloop: --full: cannot be combined with --lora / --rank (LoRA)\n']);
  });

  it('train without --watch prints the queued job; reward watch follows it to the end', async () => {
    const t = await run(['reward', 'train', '--base', 'tiny', '--data', join(dir, 'prefs.jsonl'), '--steps', '3', '--batch-size', '8', '--json', '--addr', addr]);
    expect(t.code, t.err).toBe(0);
    const job = JSON.parse(t.out) as { jobId: string; status: string };
    expect(job.status).toBe('queued');
    const w = await run(['reward', 'watch', job.jobId, '--addr', addr]);
    expect(w.code, w.err).toBe(0);
    expect(w.out).toMatch(new RegExp(`^${job.jobId} succeeded: reward model tiny-rm@${job.jobId}\\n$`));
    const ls = await run(['reward', 'ls', '--status', 'succeeded', '--json', '--addr', addr]);
    expect(ls.code, ls.err).toBe(0);
    expect((JSON.parse(ls.out) as { jobId: string; rewardModel: string }[]).find((j) => j.jobId === job.jobId)?.rewardModel).toBe(`tiny-rm@${job.jobId}`);
  }, 60_000);
});
