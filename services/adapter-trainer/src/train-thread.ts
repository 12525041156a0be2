// Entry of the training worker_thread: runs trainJob with the thread's workerData and posts its messages
// (an error becomes one 'error' message; INVALID_ARGUMENT errors are marked so the job fails without retry).
import { parentPort, workerData } from 'node:worker_threads';
import { trainJob, type ThreadInput, type ThreadMessage } from './train-job.ts';

if (parentPort) {
  const port = parentPort;
  const post = (m: ThreadMessage) => port.postMessage(m);
  trainJob(workerData as ThreadInput, post).catch((e: unknown) => {
    const err = e as { message?: string; code?: unknown };
    post({ type: 'error', message: String(err?.message ?? e), invalid: err?.code === 'INVALID_ARGUMENT' || err?.code === 3 });
  });
}
