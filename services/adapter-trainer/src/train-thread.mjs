// Entry of the training worker_thread: registers tsx (TypeScript + the workspace's path aliases), then runs train-thread.ts.
import { register } from 'tsx/esm/api';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
register({ tsconfig: path.join(root, 'tsconfig.base.json') });
await import('./train-thread.ts');
