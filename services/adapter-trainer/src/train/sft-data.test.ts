// Tokenized SFT rows: the loss mask covers the completion + EOS (prompt-completion) or exactly the assistant
// turns of a rendered chat; over-long rows are rejected or truncated per the option; splits are seeded.
import { createRng } from '@tuneloop/engine';
import { charTokenizer, SIMPLE_CHAT_TEMPLATE } from '@tuneloop/model';
import { describe, expect, it } from 'vitest';
import { encodeSftExample, padRows, splitRows } from './sft-data.ts';

const tok = charTokenizer('0123456789+=: abcdefghijklmnopqrstuvwxyz\n', undefined, { chatTemplate: SIMPLE_CHAT_TEMPLATE });
const text = (ids: number[], mask: number[], want: 0 | 1) => tok.decode(ids.filter((_, i) => mask[i] === want));

describe('encodeSftExample', () => {
  it('prompt-completion: <bos> prompt completion <eos>, loss on completion and EOS only', () => {
    const r = encodeSftExample(tok, { kind: 'prompt-completion', line: 1, prompt: '2+3=', completion: '5' }, 32, 'reject');
    expect(r.ids).toEqual([tok.bosTokenId, ...tok.encode('2+3=5', { addSpecialTokens: false }), tok.eosTokenId]);
    expect(r.lossMask).toEqual([0, 0, 0, 0, 0, 1, 1]);
  });

  it('messages: the chat template is applied and only assistant tokens (with their EOS) count', () => {
    const ex = { kind: 'messages' as const, line: 4, messages: [
      { role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }, { role: 'user', content: 'ok' }, { role: 'assistant', content: 'k' },
    ] };
    const r = encodeSftExample(tok, ex, 64, 'reject');
    expect(tok.decode(r.ids)).toBe('<bos>user: hi\nassistant: yo<eos>user: ok\nassistant: k<eos>');
    expect(text(r.ids, r.lossMask, 1)).toBe('yo<eos>k<eos>');
  });

  it('rejects an over-long row naming the line, or truncates it keeping the start', () => {
    const ex = { kind: 'prompt-completion' as const, line: 7, prompt: '1+1=', completion: '2222222222' };
    expect(() => encodeSftExample(tok, ex, 8, 'reject')).toThrow('line 7: sequence of 16 tokens is longer than the limit of 8');
    const r = encodeSftExample(tok, ex, 8, 'truncate');
    expect(r.ids).toHaveLength(8);
    expect(text(r.ids, r.lossMask, 1)).toBe('222');
    expect(() => encodeSftExample(tok, ex, 5, 'truncate')).toThrow('line 7: no completion token is left to learn from after truncation to 5 tokens');
  });
});

describe('padRows / splitRows', () => {
  it('right-pads with the pad id and masks padding out', () => {
    const b = padRows([{ line: 1, ids: [5, 6, 7], lossMask: [0, 1, 1] }, { line: 2, ids: [8, 9], lossMask: [0, 1] }], 0);
    expect(b.inputIds).toEqual([[5, 6, 7], [8, 9, 0]]);
    expect(b.attentionMask).toEqual([[1, 1, 1], [1, 1, 0]]);
    expect(b.lossMask).toEqual([[0, 1, 1], [0, 1, 0]]);
    expect(b.tokens).toBe(5);
  });

  it('splits deterministically by seed, at least one eval row', () => {
    const rows = Array.from({ length: 20 }, (_, i) => i);
    const a = splitRows(rows, 0.1, (xs) => createRng(5).shuffle(xs));
    const b = splitRows(rows, 0.1, (xs) => createRng(5).shuffle(xs));
    expect(a).toEqual(b);
    expect(a.eval).toHaveLength(2);
    expect([...a.train, ...a.eval].sort((x, y) => x - y)).toEqual(rows);
    expect(splitRows([1, 2, 3], 0.01, (xs) => xs).eval).toEqual([3]);
  });
});
