// The sandbox for model-written code: the only part of @tuneloop/verifiers that spawns processes.
export { runInSandbox, createSandboxRunner } from './run.ts';
export type { SandboxRequest, SandboxResult, SandboxRunner, TestOutcome } from './run.ts';
