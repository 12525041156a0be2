// Test support: run service modules in this process on free ports, against the real NATS server,
// with a unique bus prefix and silent logs. Not used in production code paths.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { ServiceError } from '@grpc/grpc-js';
import { connectBus } from '@tuneloop/bus';
import { loadConfig, type ServiceConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { startServices, type RunningServices, type ServiceModule } from './bootstrap.ts';

export interface TestServices extends RunningServices {
  config: ServiceConfig;
  /** graceful shutdown, then closes the NATS connection */
  close(): Promise<void>;
}

/** Starts `modules` on 127.0.0.1 with ports 0; `env` adds or overrides TUNELOOP_* variables. */
export async function startTestServices(
  modules: ServiceModule[],
  env: Record<string, string> = {},
): Promise<TestServices> {
  const config = loadConfig({
    TUNELOOP_GRPC_ADDR: '127.0.0.1:0',
    TUNELOOP_METRICS_PORT: '0',
    TUNELOOP_LOG_LEVEL: 'silent',
    TUNELOOP_NATS_PREFIX: `t${randomUUID().slice(0, 8)}`,
    TUNELOOP_SHUTDOWN_GRACE_MS: '2000',
    TUNELOOP_NATS_URL: process.env.TUNELOOP_NATS_URL ?? '',
    ...env,
  });
  const logger = createLogger({ name: 'test', level: config.logLevel });
  const bus = await connectBus({ url: config.natsUrl, name: 'test', prefix: config.natsPrefix });
  try {
    const running = await startServices({ config, logger, bus, modules });
    return {
      ...running,
      config,
      async close() {
        await running.shutdown();
        await bus.close();
      },
    };
  } catch (err) {
    await bus.close();
    throw err;
  }
}

type UnaryCallback<R> = (err: ServiceError | null, res: R) => void;

/** Promise of a callback-style grpc-js unary call: `unaryCall<Res>((cb) => client.method(req, cb))`. */
export function unaryCall<R>(start: (cb: UnaryCallback<R>) => unknown): Promise<R> {
  return new Promise((resolve, reject) => start((err, res) => (err ? reject(err) : resolve(res))));
}

/** The ServiceError of a call that must fail. */
export async function errorOf(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as ServiceError;
  }
  throw new Error('expected the call to fail');
}

/** Reads a Watch*Job stream until it ends; `onEvent` sees each event as it arrives. Returns the events in order. */
export async function collectEvents<E>(stream: unknown, onEvent: (e: E) => void | Promise<void> = () => {}): Promise<E[]> {
  const events: E[] = [];
  for await (const msg of stream as AsyncIterable<{ event?: E }>) {
    if (!msg.event) continue;
    events.push(msg.event);
    await onEvent(msg.event);
  }
  return events;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `cond` every 50 ms; throws `timed out waiting for <what>` after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Runs `script` (TypeScript, through tsx) as a child process with `env` added to this process's environment, and
 * resolves once it prints READY on stdout; rejects with its output if it exits first. The child is pushed onto
 * `children` at once so the caller can kill it (e.g. SIGKILL for a resume test, or in afterAll) even if READY never comes.
 */
export function spawnUntilReady(script: string, opts: { cwd: string; env: Record<string, string>; children: ChildProcess[] }): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: opts.cwd, env: { ...process.env, ...opts.env } });
  opts.children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('READY')) resolve(child);
    });
    child.stderr!.on('data', (d) => (out += d));
    child.on('exit', (code, signal) => reject(new Error(`worker exited (${code ?? signal}) before READY: ${out}`)));
  });
}

/**
 * The kill half of a SIGKILL resume test, as a Watch*Job `onEvent`: once attempt 1 reported `checkpoint at step N`
 * and then a step event (`isStep`) at step >= N + 2, SIGKILLs `worker`, waits for it to die, reads the step of the
 * checkpoint on disk with `checkpointStep` (the worker may have written a newer one than the events so far told),
 * runs `whileDown` (assertions on the un-acked job) and starts a new worker with `restart`. `killedAt` (the step
 * event that triggered the kill) and `checkpointed` (the step on disk, which the resume must start from) are read after.
 */
export function killAfterCheckpoint<E extends { step: number; message: string; metrics: Record<string, number> }>(
  worker: ChildProcess,
  isStep: (e: E) => boolean,
  whileDown: () => Promise<void>,
  restart: () => Promise<unknown>,
  checkpointStep: () => Promise<number>,
): { onEvent: (e: E) => void; killedAt: number; checkpointed: number } {
  let seen = 0; // the newest checkpoint attempt 1 reported
  const state = {
    killedAt: 0,
    checkpointed: 0,
    onEvent(e: E): void {
      const m = /^checkpoint at step (\d+)/.exec(e.message);
      if (m && e.metrics.attempt === 1) seen = Number(m[1]);
      if (!state.killedAt && e.metrics.attempt === 1 && seen > 0 && e.step >= seen + 2 && isStep(e)) {
        state.killedAt = e.step;
        worker.kill('SIGKILL');
        void (async () => {
          await until(() => worker.signalCode === 'SIGKILL', 5000, 'the first worker to die');
          state.checkpointed = await checkpointStep();
          if (state.checkpointed < seen) throw new Error(`the checkpoint on disk is at step ${state.checkpointed}, but step ${seen} was reported`);
          await whileDown();
          await restart();
        })();
      }
    },
  };
  return state;
}
