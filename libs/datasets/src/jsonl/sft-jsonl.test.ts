// parseSftJsonl: both TRL formats, blank lines, and every kind of bad line named by its 1-based number.
import { describe, expect, it } from 'vitest';
import { DatasetError, parseSftJsonl } from './sft-jsonl.ts';

describe('parseSftJsonl', () => {
  it('reads prompt-completion lines with their line numbers, skipping blank lines and CRLF', () => {
    const text = '{"prompt":"1+1=","completion":"2"}\r\n\n{"prompt":"","completion":"x"}\n';
    expect(parseSftJsonl(text)).toEqual([
      { kind: 'prompt-completion', line: 1, prompt: '1+1=', completion: '2' },
      { kind: 'prompt-completion', line: 3, prompt: '', completion: 'x' },
    ]);
  });

  it('reads conversational lines', () => {
    const text = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }] });
    expect(parseSftJsonl(text)).toEqual([{ kind: 'messages', line: 1, messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }] }]);
  });

  const ok = '{"prompt":"a","completion":"b"}';
  it.each([
    ['not valid JSON', `${ok}\n{"prompt": "a",`, 2, /data\.jsonl: line 2: not valid JSON/],
    ['a missing field', `${ok}\n${ok}\n{"prompt":"a"}`, 3, /line 3: missing field "completion"/],
    ['both fields missing', '{"text":"a"}', 1, /line 1: missing field "prompt" and "completion"/],
    ['a non-string completion', '{"prompt":"a","completion":5}', 1, /line 1: "completion": must be a string, got number 5/],
    ['an empty completion', '{"prompt":"a","completion":""}', 1, /line 1: "completion": must not be empty/],
    ['a non-object line', '[1,2]', 1, /line 1: must be a JSON object, got an array/],
    ['a bad role', '{"messages":[{"role":"robot","content":"x"}]}', 1, /line 1: "messages\[0\]\.role": must be one of system, user, assistant, tool, got "robot"/],
    ['no assistant turn', '{"messages":[{"role":"user","content":"x"}]}', 1, /line 1: "messages": has no assistant turn/],
    ['mixed formats', `${ok}\n{"messages":[{"role":"assistant","content":"x"}]}`, 2, /line 2: is messages but line 1 is prompt-completion/],
  ])('rejects %s naming the line', (_what, text, line, re) => {
    let err: unknown;
    try {
      parseSftJsonl(text, { source: 'data.jsonl' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).line).toBe(line);
    expect((err as Error).message).toMatch(re);
  });

  it('rejects an empty file', () => {
    expect(() => parseSftJsonl('\n\n')).toThrow('dataset: has no examples (empty file)');
  });
});
