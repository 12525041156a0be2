// Entry of every job worker_thread: registers tsx (TypeScript + the workspace's path aliases), imports the
// job's thread module (workerData.module, a file URL) and runs its default export with workerData.input,
// posting its messages to the worker; an exception becomes one 'error' message.
import { register } from 'tsx/esm/api';
import { fileURLToPath } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
register({ tsconfig: path.join(root, 'tsconfig.base.json') });
const { errorMessageOf } = await import('./protocol.ts');
const post = (m) => parentPort.postMessage(m);
try {
  const mod = await import(workerData.module);
  const fn = mod.default ?? mod.runJob;
  if (typeof fn !== 'function') throw new Error(`${workerData.module}: exports no default job function`);
  await fn(workerData.input, post);
} catch (e) {
  post(errorMessageOf(e));
}
