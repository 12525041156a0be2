// Exact match: SQuAD normalisation, answer tags, null without a reference.
import { describe, expect, it } from 'vitest';
import { exactMatch } from './exact-match.ts';

describe('exactMatch', () => {
  it('normalises case, punctuation, articles and whitespace', () => {
    const s = exactMatch();
    expect(s('q', ' The  Paris. ', 'paris')).toBe(1);
    expect(s('q', 'Lyon', 'Paris')).toBe(0);
    expect(s('q', 'Paris')).toBeNull();
  });
  it('strict compares the trimmed text only', () => {
    expect(exactMatch({ strict: true })('q', ' Paris ', 'paris')).toBe(0);
    expect(exactMatch({ strict: true })('q', ' Paris ', 'Paris')).toBe(1);
  });
  it('reads the last answer tag, 0 when absent', () => {
    const s = exactMatch({ answerTag: 'answer' });
    expect(s('q', '<answer>Rome</answer> no wait <answer>Paris</answer>', 'paris')).toBe(1);
    expect(s('q', 'Paris', 'paris')).toBe(0);
    expect(() => exactMatch({ answerTag: '<bad>' })).toThrow('answerTag: must be a tag name');
  });
});
