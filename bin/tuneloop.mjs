#!/usr/bin/env node
// The `tuneloop` command: loads the TypeScript CLI through tsx (with the workspace's path aliases).
import { register } from 'tsx/esm/api';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
register({ tsconfig: path.join(root, 'tsconfig.base.json') });
const { main } = await import('../apps/cli/src/main.ts');
process.exitCode = await main(process.argv);
