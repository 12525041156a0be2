// TRL preference / KTO JSONL: standard and conversational forms, round trips, line-numbered errors.
import { describe, expect, it } from 'vitest';
import { parseKtoJsonl, parsePreferenceJsonl, writeKtoJsonl, writePreferenceJsonl } from './preference-jsonl.ts';

describe('parsePreferenceJsonl', () => {
  it('round-trips the standard form (with margins) through the writer', () => {
    const pairs = [
      { prompt: '1+2=', chosen: '3', rejected: '4 ok', margin: 2 },
      { prompt: '5+5=', chosen: '10', rejected: '11' },
    ];
    const text = writePreferenceJsonl(pairs);
    expect(text.split('\n')).toHaveLength(3);
    const recs = parsePreferenceJsonl(text);
    expect(recs.map(({ line, kind, ...r }) => ({ line, kind, r }))).toEqual([
      { line: 1, kind: 'standard', r: pairs[0] },
      { line: 2, kind: 'standard', r: pairs[1] },
    ]);
  });
  it('reads the conversational form, with and without an explicit prompt', () => {
    const u = { role: 'user', content: '1+2=' };
    const explicit = JSON.stringify({ prompt: [u], chosen: [{ role: 'assistant', content: '3' }], rejected: [{ role: 'assistant', content: '4' }] });
    const implicit = JSON.stringify({ chosen: [u, { role: 'assistant', content: '3' }], rejected: [u, { role: 'assistant', content: '5' }] });
    const recs = parsePreferenceJsonl(`${explicit}\n\n${implicit}\n`);
    expect(recs[0]).toMatchObject({ line: 1, kind: 'conversational', prompt: [u] });
    expect(recs[1]).toMatchObject({ line: 3, kind: 'conversational', prompt: [] });
    expect(parsePreferenceJsonl(writePreferenceJsonl(recs))[0].chosen).toEqual([{ role: 'assistant', content: '3' }]);
  });
  it('names the bad line', () => {
    const good = '{"prompt":"1+2=","chosen":"3","rejected":"4"}';
    const cases: [string, string][] = [
      [`${good}\n{"prompt":"1+2=","chosen":"3"`, 'prefs.jsonl: line 2: not valid JSON'],
      [`${good}\n${good}\n{"prompt":"1+2=","chosen":"3","rejected":"3"}`, 'prefs.jsonl: line 3: "chosen" and "rejected" are identical (a pair must differ)'],
      [`${good}\n{"prompt":"1+2=","chosen":"","rejected":"3"}`, 'prefs.jsonl: line 2: "chosen": must not be empty'],
      [`{"prompt":"1+2=","chosen":"3"}`, 'prefs.jsonl: line 1: missing field "rejected"'],
      [`{"prompt":1,"chosen":"3","rejected":"4"}`, 'prefs.jsonl: line 1: "prompt": must be a string, got number 1'],
      [`{"chosen":[{"role":"bot","content":"3"}],"rejected":[]}`, 'prefs.jsonl: line 1: "chosen[0].role": must be one of'],
      [`${good}\n{"chosen":[{"role":"user","content":"3"}],"rejected":[{"role":"user","content":"4"}]}`, 'line 2: is conversational but line 1 is standard'],
      [`{"prompt":"1+2=","chosen":"3","rejected":"4","margin":"big"}`, 'line 1: "margin": must be a finite number, got a string'],
      ['\n\n', 'prefs.jsonl: has no examples (empty file)'],
    ];
    for (const [text, msg] of cases) expect(() => parsePreferenceJsonl(text, { source: 'prefs.jsonl' }), msg).toThrow(msg);
    try {
      parsePreferenceJsonl(`${good}\n[1]`);
    } catch (e) {
      expect(e).toMatchObject({ name: 'DatasetError', code: 'INVALID_ARGUMENT', line: 2 });
    }
  });
});

describe('parseKtoJsonl', () => {
  it('round-trips and checks labels', () => {
    const ex = [
      { prompt: '1+2=', completion: '3', label: true },
      { prompt: '1+2=', completion: '9', label: false },
    ];
    expect(parseKtoJsonl(writeKtoJsonl(ex)).map(({ prompt, completion, label }) => ({ prompt, completion, label }))).toEqual(ex);
    expect(() => parseKtoJsonl('{"prompt":"a","completion":"b","label":1}', { source: 'k.jsonl' })).toThrow('k.jsonl: line 1: "label": must be true or false, got number 1');
    expect(() => parseKtoJsonl('{"prompt":"a","completion":" ","label":true}')).toThrow('line 1: "completion": must not be empty');
  });
});
