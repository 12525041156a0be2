// Parent side of a job thread: starts thread-entry.mjs in a worker_thread with the job's module, relays its
// messages, and settles with the 'done' message, or rejects with its error (InvalidArgumentError for bad input,
// DivergedError for a non-finite loss, InternalError otherwise) or an unexpected exit.
import { Worker } from 'node:worker_threads';
import { InternalError, InvalidArgumentError } from '@tuneloop/service-kit';
import type { JobDone, JobThreadInput, JobThreadMessage } from './protocol.ts';

export interface JobThread {
  done: Promise<JobDone>;
  /** stops the thread at once (cancel, shutdown); `done` then rejects with TerminatedError */
  terminate(): Promise<void>;
}

/** Thrown by `done` when the thread was terminated on purpose. */
export class TerminatedError extends Error {
  override readonly name = 'TerminatedError';
}

/** Training stopped on a non-finite loss or gradient; the job fails with `message` ("step N: reason"). */
export class DivergedError extends Error {
  override readonly name = 'DivergedError';
  constructor(
    message: string,
    readonly step: number,
    readonly reason: string,
  ) {
    super(message);
  }
}

/** Runs `module`'s default export `(input, post)` in a worker_thread. */
export function startJobThread(module: URL | string, input: JobThreadInput<unknown>, onMessage: (m: JobThreadMessage) => void): JobThread {
  const worker = new Worker(new URL('./thread-entry.mjs', import.meta.url), {
    workerData: { module: String(module), input },
    stdout: false,
    stderr: false,
  });
  let terminated = false;
  const done = new Promise<JobDone>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    worker.on('message', (m: JobThreadMessage) => {
      if (m.type === 'done') settle(() => resolve(m));
      else if (m.type === 'error') {
        settle(() =>
          reject(
            m.diverged
              ? new DivergedError(m.message, m.diverged.step, m.diverged.reason)
              : m.invalid
                ? new InvalidArgumentError('job', m.message)
                : new InternalError(`training failed: ${m.message}`),
          ),
        );
      } else onMessage(m);
    });
    worker.on('error', (e) => settle(() => reject(new InternalError(`training thread crashed: ${e.message}`))));
    worker.on('exit', (code) =>
      settle(() => reject(terminated ? new TerminatedError('training thread terminated') : new InternalError(`training thread exited with code ${code} before finishing`))),
    );
  });
  done.catch(() => undefined);
  return {
    done,
    async terminate() {
      terminated = true;
      await worker.terminate();
    },
  };
}
