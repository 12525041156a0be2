// Parent side of a training thread: starts train-thread.mjs in a worker_thread, relays its messages, and
// settles with the 'done' message, or rejects with its error (INVALID_ARGUMENT kept) or an unexpected exit.
import { Worker } from 'node:worker_threads';
import { InvalidArgumentError, InternalError } from '@tuneloop/service-kit';
import type { ThreadInput, ThreadMessage } from './train-job.ts';

export type DoneMessage = Extract<ThreadMessage, { type: 'done' }>;

export interface TrainingThread {
  done: Promise<DoneMessage>;
  /** stops the thread at once (cancel, shutdown); `done` then rejects with 'terminated' */
  terminate(): Promise<void>;
}

/** Thrown by `done` when the thread was terminated on purpose. */
export class TerminatedError extends Error {
  override readonly name = 'TerminatedError';
}

export function startTrainingThread(input: ThreadInput, onMessage: (m: ThreadMessage) => void): TrainingThread {
  const worker = new Worker(new URL('./train-thread.mjs', import.meta.url), { workerData: input, stdout: false, stderr: false });
  let terminated = false;
  const done = new Promise<DoneMessage>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    worker.on('message', (m: ThreadMessage) => {
      if (m.type === 'done') settle(() => resolve(m));
      else if (m.type === 'error') settle(() => reject(m.invalid ? new InvalidArgumentError('job', m.message) : new InternalError(`training failed: ${m.message}`)));
      else onMessage(m);
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
