// Code verifier: runs a model-written JavaScript function against test cases in the sandbox and
// scores the fraction passed. The reference holds the tests as JSON:
// {"functionName"?: "add", "tests": [{"args": [1, 2], "expected": 3}, ...]} (or just the tests array).
import { VerifierConfigError, type Verifier } from './types.ts';
import type { SandboxRequest, SandboxResult } from './sandbox/index.ts';

export interface CodeTestCase {
  args: unknown[];
  expected: unknown;
}

export interface CodeOptions {
  /** Runs the code (the process sandbox, or a test double); see sandbox/run.ts. */
  run: (req: SandboxRequest) => Promise<SandboxResult>;
  /** Entry point when the reference does not name one; default 'solution'. */
  functionName?: string;
  /** Per-test-case time limit, ms; default 1000. */
  testTimeoutMs?: number;
  /** Heap limit of the sandbox process, MiB; default 64. */
  memoryMb?: number;
  /** Absolute tolerance when comparing numbers; default 0 (exact). */
  numberTolerance?: number;
}

/** The code of a completion: the last ```js / ```javascript / ``` fenced block, else the whole text. */
export function extractCode(completion: string): string {
  const blocks = [...completion.matchAll(/```(?:javascript|js|typescript|ts)?[^\n]*\n([\s\S]*?)```/g)];
  return blocks.length > 0 ? blocks[blocks.length - 1][1] : completion;
}

export function parseCodeReference(reference: string, defaultFunctionName: string): { functionName: string; tests: CodeTestCase[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(reference);
  } catch (err) {
    throw new VerifierConfigError('reference', `must be JSON test cases for the code verifier: ${(err as Error).message}`);
  }
  const obj = Array.isArray(parsed) ? { tests: parsed } : (parsed as { functionName?: unknown; tests?: unknown });
  const functionName = obj?.functionName ?? defaultFunctionName;
  if (typeof functionName !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(functionName)) {
    throw new VerifierConfigError('reference.functionName', `must be a JavaScript identifier, got ${JSON.stringify(functionName)}`);
  }
  if (!Array.isArray(obj?.tests)) throw new VerifierConfigError('reference.tests', 'must be an array of {args, expected}');
  const tests = obj.tests.map((t: unknown, i: number) => {
    const tc = t as Partial<CodeTestCase>;
    if (tc === null || typeof tc !== 'object' || !Array.isArray(tc.args) || !('expected' in tc)) {
      throw new VerifierConfigError(`reference.tests[${i}]`, 'must be {"args": [...], "expected": ...}');
    }
    return { args: tc.args, expected: tc.expected };
  });
  return { functionName, tests };
}

/** Structural equality of JSON values; numbers within `tol`. */
export function jsonEqual(a: unknown, b: unknown, tol = 0): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || Math.abs(a - b) <= tol;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i], tol));
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b as object, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], tol));
}

/**
 * @example
 * const v = codeVerifier({ run: runInSandbox });
 * await v.score('Write add(a, b)', '```js\nfunction add(a, b) { return a + b; }\n```',
 *   '{"functionName": "add", "tests": [{"args": [1, 2], "expected": 3}, {"args": [0, 0], "expected": 0}]}'); // 1
 */
export function codeVerifier(options: CodeOptions): Verifier {
  if (typeof options?.run !== 'function') throw new VerifierConfigError('run', 'the code verifier needs a sandbox runner');
  const defaultName = options.functionName ?? 'solution';
  if (!/^[A-Za-z_$][\w$]*$/.test(defaultName)) throw new VerifierConfigError('functionName', `must be a JavaScript identifier, got '${defaultName}'`);
  const testTimeoutMs = options.testTimeoutMs ?? 1000;
  if (!Number.isFinite(testTimeoutMs) || testTimeoutMs < 1 || testTimeoutMs > 60_000) {
    throw new VerifierConfigError('testTimeoutMs', `must be in [1, 60000], got ${testTimeoutMs}`);
  }
  const memoryMb = options.memoryMb ?? 64;
  if (!Number.isInteger(memoryMb) || memoryMb < 16 || memoryMb > 4096) throw new VerifierConfigError('memoryMb', `must be an integer in [16, 4096], got ${memoryMb}`);
  const tol = options.numberTolerance ?? 0;

  const score = async (_prompt: string, completion: string, reference?: string) => {
    if (reference === undefined) return null;
    const { functionName, tests } = parseCodeReference(reference, defaultName);
    if (tests.length === 0) return null;
    const result = await options.run({ code: extractCode(completion), functionName, inputs: tests.map((t) => t.args), testTimeoutMs, memoryMb });
    const passed = result.outcomes.filter((o, i) => o.ok && jsonEqual(o.value, tests[i].expected, tol)).length;
    return passed / tests.length;
  };
  return {
    name: 'code',
    score,
    scoreGroup: (p, cs, r) => Promise.all(cs.map((c) => score(p, c, r))),
  };
}
