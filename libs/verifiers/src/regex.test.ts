// Regex verifier: search vs full match, flags, invalid patterns at construction.
import { describe, expect, it } from 'vitest';
import { regexMatch } from './regex.ts';

describe('regexMatch', () => {
  it('matches anywhere, or the whole completion with fullMatch', () => {
    expect(regexMatch({ pattern: '^Answer: \\d+$', flags: 'm' })('q', 'Let me think.\nAnswer: 4')).toBe(1);
    expect(regexMatch({ pattern: '^Answer: \\d+$', flags: 'm' })('q', 'Answer: four')).toBe(0);
    expect(regexMatch({ pattern: '\\d+', fullMatch: true })('q', ' 123 ')).toBe(1);
    expect(regexMatch({ pattern: '\\d+', fullMatch: true })('q', '123 apples')).toBe(0);
    expect(regexMatch({ pattern: 'yes', flags: 'i' })('q', 'YES')).toBe(1);
  });
  it('rejects invalid patterns and stateful flags', () => {
    expect(() => regexMatch({ pattern: '(' })).toThrow('pattern: is not a valid regular expression');
    expect(() => regexMatch({ pattern: 'a', flags: 'g' })).toThrow("flags: must not contain 'g' or 'y', got 'g'");
  });
});
