// One vitest configuration for the whole monorepo; each project's `test` target reuses it.
import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';

const root = fileURLToPath(new URL('.', import.meta.url));
const paths: Record<string, string[]> = JSON.parse(readFileSync(`${root}/tsconfig.base.json`, 'utf8')).compilerOptions.paths;
const alias = Object.fromEntries(Object.entries(paths).map(([k, v]) => [k, `${root}/${v[0]}`]));

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/.next/**', '**/dist/**', 'apps/labeling/e2e/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
