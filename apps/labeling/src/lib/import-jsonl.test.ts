import { describe, expect, it } from 'vitest';
import { ImportError, parseComparisonsJsonl } from './import-jsonl.ts';

describe('parseComparisonsJsonl', () => {
  it('reads prompt and messages lines, skipping blank lines', () => {
    const text = [
      JSON.stringify({ prompt: 'Hi', responses: ['a', 'b'] }),
      '',
      JSON.stringify({ messages: [{ role: 'user', content: 'Q' }], responses: ['x', 'y'], round: 2 }),
    ].join('\n');
    const got = parseComparisonsJsonl(text, 2);
    expect(got).toEqual([
      { line: 1, promptKind: 'text', prompt: 'Hi', responses: ['a', 'b'], round: null },
      { line: 3, promptKind: 'messages', prompt: [{ role: 'user', content: 'Q' }], responses: ['x', 'y'], round: 2 },
    ]);
  });
  it('reports every bad line with its number and field', () => {
    const text = ['{"prompt":"a","responses":["x"]}', 'nope', '{"prompt":"a","messages":[],"responses":["x","y"]}', '{"messages":[{"role":"robot","content":"x"}],"responses":["x","y"]}', '{"prompt":"a","responses":["x","y"],"round":0}'].join('\n');
    try {
      parseComparisonsJsonl(text, 2);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ImportError);
      const errs = (e as ImportError).errors;
      expect(errs[0]).toBe("line 1: responses: must have 2 items (the project's K), got 1");
      expect(errs[1]).toMatch(/^line 2: not valid JSON/);
      expect(errs[2]).toBe('line 3: must have exactly one of "prompt" or "messages"');
      expect(errs[3]).toBe('line 4: messages[0]: must be {role: "system"|"user"|"assistant", content: string}');
      expect(errs[4]).toBe('line 5: round: must be an integer >= 1, got 0');
    }
    expect(() => parseComparisonsJsonl('\n\n', 2)).toThrow('file: contains no comparisons');
  });
});
