// ESLint flat config: typescript-eslint, Prettier compatibility, and the Nx module boundaries that
// keep the math libraries (engine, model, quant, peft, objectives, verifiers, datasets) free of I/O.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

const ioModules = ['fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'net', 'node:net', 'child_process',
  'node:child_process', 'http', 'node:http', 'https', 'node:https', 'pg', 'better-sqlite3', 'kysely'];
const ioPatterns = ['@grpc/*', '@nats-io/*', '@tuneloop/bus', '@tuneloop/service-kit', '@tuneloop/store',
  '@tuneloop/files', '@tuneloop/proto'];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/.next/**', '**/dist/**', 'libs/proto/src/gen/**', '.nx/**', '**/next-env.d.ts', 'test-output/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': ['error', {
        allow: [],
        // Heavy libraries (tfjs models) are imported lazily in commands and handlers and statically in the
        // code that runs after them: both are intended, so the lazy-loading rule does not apply to ours.
        checkDynamicDependenciesExceptions: ['@tuneloop/*'],
        depConstraints: [
          { sourceTag: 'type:math', onlyDependOnLibsWithTags: ['type:math'] },
          { sourceTag: 'type:proto', onlyDependOnLibsWithTags: [] },
          { sourceTag: 'type:io', onlyDependOnLibsWithTags: ['type:math', 'type:io', 'type:proto'] },
          { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:math', 'type:io', 'type:proto', 'type:service'] },
          { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:math', 'type:io', 'type:proto', 'type:service'] },
        ],
      }],
    },
  },
  {
    // Math libraries: no file system, network, gRPC, NATS or database, in source (tests may read fixtures).
    // The one exception is the code sandbox, which must spawn a locked-down child process.
    files: ['libs/{engine,model,quant,peft,objectives,verifiers,datasets}/src/**/*.ts'],
    ignores: ['**/*.test.ts', 'libs/verifiers/src/sandbox/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: ioModules, patterns: ioPatterns }],
    },
  },
);
