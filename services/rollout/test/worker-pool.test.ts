// Rollout worker pool on real NATS with real child processes: a GenerateGroups request split into batch jobs
// on jobs.rollout.generate is served by two worker processes; one is SIGKILLed while it holds a batch, the
// batch is redelivered after ackWait, and every requested completion arrives exactly once, identical to a
// local run with the same seeds. The same for a streaming Generate: the worker streaming it is SIGKILLed
// mid-stream, another regenerates it, and the caller sees every token exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { Kvm } from '@nats-io/kv';
import { connectBus, deprovision, provision, type Bus } from '@tuneloop/bus';
import { createRng, initBackend } from '@tuneloop/engine';
import { ARITH_SMALL, arithModelConfig, arithTokenizer, CausalLM, initWeights } from '@tuneloop/model';
import { saveModel } from '@tuneloop/files';
import { generate } from '@tuneloop/model';
import { encodePrompts, sampleGroups } from '@tuneloop/rl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatchGroups, resultBucketName } from '../src/dispatcher.ts';
import { streamGenerate, type TokenEvent } from '../src/stream.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const NATS = process.env.TUNELOOP_NATS_URL ?? 'nats://127.0.0.1:4222';
const prefix = `T${Math.random().toString(16).slice(2, 10)}_`;
let bus: Bus;
let dir: string;
let model: CausalLM;
let longModel: CausalLM;
const children: ChildProcess[] = [];

interface Worker {
  child: ChildProcess;
  starts: string[]; // "requestId batch" lines
}

function startWorker(): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'services/rollout/src/worker-main.ts')], {
    cwd: root,
    env: { ...process.env, TUNELOOP_NATS_URL: NATS, TUNELOOP_NATS_PREFIX: prefix, TUNELOOP_ROLLOUT_ACK_WAIT_MS: '1500', TUNELOOP_BACKEND: 'wasm' },
  });
  children.push(child);
  const w: Worker = { child, starts: [] };
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      for (const m of String(d).matchAll(/START (\S+) (\d+)/g)) w.starts.push(`${m[1]} ${m[2]}`);
      if (out.includes('READY')) resolve(w);
    });
    child.stderr!.on('data', (d) => (out += d));
    child.on('exit', (code, signal) => reject(new Error(`worker exited (${code ?? signal}) before READY: ${out}`)));
  });
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  bus = await connectBus({ url: NATS, name: 'rollout-pool-test', prefix });
  await provision(bus, { prefix, storage: 'memory' });
  const tok = arithTokenizer();
  const cfg = arithModelConfig({ ...ARITH_SMALL, hiddenSize: 32, numLayers: 1, intermediateSize: 64 }, tok);
  const w = initWeights(cfg, createRng(3));
  model = new CausalLM(cfg, w);
  tf.dispose([...w.values()]);
  dir = await mkdtemp(path.join(tmpdir(), 'rollout-pool-'));
  await saveModel(path.join(dir, 'policy'), model, { tokenizer: tok });
  const w2 = initWeights({ ...cfg, maxPositionEmbeddings: 512 }, createRng(5));
  longModel = new CausalLM({ ...cfg, maxPositionEmbeddings: 512 }, w2);
  tf.dispose([...w2.values()]);
  await saveModel(path.join(dir, 'long'), longModel, { tokenizer: tok });
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await new Kvm(bus.js).open(resultBucketName(bus)).then((kv) => kv.destroy()).catch(() => undefined);
  await deprovision(bus, { prefix }).catch(() => undefined);
  await bus.close();
  model.dispose();
  longModel.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('rollout worker pool', () => {
  it('loses no completion when a worker is SIGKILLed mid-batch (redelivered, each completion exactly once)', async () => {
    const [a, b] = await Promise.all([startWorker(), startWorker()]);
    const tok = arithTokenizer();
    const prompts = Array.from({ length: 12 }, (_, i) => ({ prompt: `${10 + i}+${20 + 3 * i}=`, reference: String(30 + 4 * i) }));
    const req = { modelDir: path.join(dir, 'policy'), prompts, groupSize: 4, maxNewTokens: 24, seed: 11, batchSize: 2, timeoutMs: 90_000 };
    // Kill worker a as soon as it starts its first batch (it is still loading the model: mid-batch for sure).
    let killed: string | undefined;
    const killer = setInterval(() => {
      if (!killed && a.starts.length > 0) {
        killed = a.starts[0];
        a.child.kill('SIGKILL');
      }
    }, 5);
    const res = await dispatchGroups(bus, req);
    clearInterval(killer);
    expect(killed).toBeDefined();
    expect(a.child.signalCode).toBe('SIGKILL');
    // Every (prompt, sample) exactly once.
    const keys = res.completions.map((c) => `${c.promptIndex}/${c.sample}`);
    expect(keys).toHaveLength(prompts.length * 4);
    expect(new Set(keys).size).toBe(keys.length);
    // The batch the killed worker held was redelivered and stored by the survivor.
    expect(res.redelivered).toBeGreaterThanOrEqual(1);
    expect(Object.keys(res.workers)).toEqual([expect.stringContaining(`:${b.child.pid}`)]);
    // Identical to one local generation with the same seeds (batching and redelivery change nothing).
    const local = sampleGroups(model, tok, encodePrompts(tok, model.config, prompts, 24), { groupSize: 4, maxNewTokens: 24, seed: 11 });
    expect(res.completions.map((c) => c.tokens)).toEqual(local.map((r) => r.tokens));
    res.completions.forEach((c, i) => c.logprobs.forEach((x, j) => expect(x).toBeCloseTo(local[i].logprobs[j], 4)));
    b.child.kill('SIGTERM');
  });

  it('loses no token when the worker streaming a Generate is SIGKILLed mid-stream (regenerated, each token once)', async () => {
    const [a, b] = await Promise.all([startWorker(), startWorker()]);
    const byPid = new Map([[a.child.pid, a], [b.child.pid, b]]);
    // who took the stream: the worker's hello request names it
    const hellos = bus.nc.subscribe(`${bus.names.subjectPrefix}rollout.stream.*.hello`);
    const holders: number[] = [];
    void (async () => {
      for await (const m of hellos) holders.push(Number((m.json() as { worker: string }).worker.split(':').at(-1)));
    })();
    const tok = arithTokenizer();
    const promptIds = [tok.bosTokenId!, ...tok.encode('3+4=', { addSpecialTokens: false })];
    const spec = { policy: { kind: 'folder' as const, modelDir: path.join(dir, 'long') }, promptIds, n: 4, maxNewTokens: 300, temperature: 1, topK: 0, topP: 1, seed: 8, stop: [] };
    const got: TokenEvent[] = [];
    let killed: number | undefined;
    for await (const e of streamGenerate(bus, spec, { idleTimeoutMs: 60_000 })) {
      got.push(e);
      if (killed === undefined && got.length === 10) {
        killed = holders[0];
        byPid.get(killed)!.child.kill('SIGKILL');
      }
    }
    hellos.unsubscribe();
    expect(killed).toBeDefined();
    expect(byPid.get(killed!)!.child.signalCode).toBe('SIGKILL');
    expect(holders.length).toBeGreaterThanOrEqual(2); // redelivered to the survivor
    expect(holders.at(-1)).not.toBe(killed);
    const want = generate(longModel, Array.from({ length: 4 }, () => promptIds), { maxNewTokens: 300, temperature: 1, seed: 8, eosTokenIds: [tok.eosTokenId!], padTokenId: tok.padTokenId });
    for (let i = 0; i < 4; i++) {
      const mine = got.filter((e) => e.index === i);
      expect(mine.map((e) => e.step)).toEqual(mine.map((_, k) => k)); // each step once, in order
      expect(mine.map((e) => e.token)).toEqual(want[i].tokens);
    }
    for (const w of [a, b]) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  });
});
