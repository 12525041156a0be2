// createVerifier: names, JSON specs, nested composites, injected dependencies, and errors naming the field.
import { describe, expect, it } from 'vitest';
import { createVerifier, listVerifiers, registerVerifier } from './spec.ts';
import type { SandboxRequest, SandboxResult } from './sandbox/index.ts';

describe('createVerifier', () => {
  it('lists the built-in verifiers', () => {
    expect(listVerifiers()).toEqual(['code', 'composite', 'exact_match', 'format', 'json_schema', 'length_penalty', 'numeric', 'regex', 'reward_model']);
  });

  it('builds from a name, an object, or JSON text', async () => {
    expect(await createVerifier('numeric').score('q', 'it is 7', '7')).toBe(1);
    expect(await createVerifier({ type: 'numeric', absTol: 0.5 }).score('q', '7.4', '7')).toBe(1);
    expect(await createVerifier('{"type": "regex", "pattern": "^ok$"}').score('q', 'ok')).toBe(1);
  });

  it('builds nested composites', async () => {
    const v = createVerifier({
      type: 'composite',
      parts: [
        { weight: 1, verifier: { type: 'exact_match', answerTag: 'answer' } },
        { weight: 0.1, verifier: 'format' },
        { weight: 1, verifier: { type: 'length_penalty', maxLength: 40, cacheLength: 10 } },
      ],
    });
    expect(await v.score('q', '<answer>Paris</answer>', 'paris')).toBeCloseTo(1.1, 12);
  });

  it('passes injected dependencies to reward_model and code', async () => {
    const rm = createVerifier('reward_model', { score: async (_p, cs) => cs.map(() => 0.5) });
    expect(await rm.scoreGroup('p', ['a', 'b'])).toEqual([0.5, 0.5]);
    const seen: SandboxRequest[] = [];
    const run = async (req: SandboxRequest): Promise<SandboxResult> => {
      seen.push(req);
      return { outcomes: [{ ok: true, value: 3 }, { ok: true, value: 0 }], status: 'ok', durationMs: 1, stderr: '' };
    };
    const code = createVerifier({ type: 'code', functionName: 'add', testTimeoutMs: 50 }, { runCode: run });
    const ref = JSON.stringify([{ args: [1, 2], expected: 3 }, { args: [2, 2], expected: 4 }]);
    expect(await code.score('p', '```js\nconst add = (a, b) => a + b;\n```', ref)).toBe(0.5);
    expect(seen[0]).toEqual({ code: 'const add = (a, b) => a + b;\n', functionName: 'add', inputs: [[1, 2], [2, 2]], testTimeoutMs: 50, memoryMb: 64 });
  });

  it('errors name the field', () => {
    expect(() => createVerifier('nope')).toThrow("verifier.type: unknown verifier \"nope\" (known: code, composite, exact_match");
    expect(() => createVerifier({ type: 'numeric', tolerance: 1 })).toThrow("verifier.tolerance: unknown option of 'numeric' (allowed: absTol, relTol)");
    expect(() => createVerifier({ type: 'json_schema', schema: { type: 'strnig' } })).toThrow('verifier.schema: is not a valid JSON Schema');
    expect(() => createVerifier({ type: 'composite', parts: [{ verifier: { type: 'bogus' } }] })).toThrow('verifier.parts[0].verifier.type: unknown verifier "bogus"');
    expect(() => createVerifier({ type: 'composite', parts: [{ verifier: 'numeric', weight: 'x' }] })).toThrow('verifier.parts[0].weight: must be a finite number, got "x"');
    expect(() => createVerifier('reward_model')).toThrow('verifier.score: the reward_model verifier needs a score');
    expect(() => createVerifier('{bad json')).toThrow('verifier: is not valid JSON');
    expect(() => createVerifier({ type: 'code', memoryMb: 1 })).toThrow('verifier.memoryMb: must be an integer in [16, 4096], got 1');
    expect(() => registerVerifier('numeric', { options: [], build: () => createVerifier('numeric') })).toThrow("verifier 'numeric' is already registered");
  });

  it('a bad code reference names the field', async () => {
    const code = createVerifier('code', { runCode: async () => ({ outcomes: [], status: 'ok', durationMs: 0, stderr: '' }) });
    await expect(code.score('p', 'x', 'not json')).rejects.toThrow('reference: must be JSON test cases');
    await expect(code.score('p', 'x', '{"tests": [{"args": 1, "expected": 2}]}')).rejects.toThrow('reference.tests[0]: must be {"args": [...], "expected": ...}');
    expect(await code.score('p', 'x')).toBeNull();
  });
});
