// name@version references: parsing, validation messages naming the field, version order, next version.
import { describe, expect, it } from 'vitest';
import { compareVersions, formatRef, nextVersion, parseRef } from './refs.ts';

describe('refs', () => {
  it('parses name, name@latest and name@version', () => {
    expect(parseRef('tiny')).toEqual({ name: 'tiny' });
    expect(parseRef('tiny@latest')).toEqual({ name: 'tiny' });
    expect(parseRef('qwen2.5-0.5b@3')).toEqual({ name: 'qwen2.5-0.5b', version: '3' });
    expect(formatRef({ name: 'tiny' })).toBe('tiny@latest');
  });

  it('rejects names that could leave the store, naming the field', () => {
    expect(() => parseRef('../etc@1')).toThrow('ref.name: must match');
    expect(() => parseRef('a..b')).toThrow('without ".."');
    expect(() => parseRef('tiny@')).toThrow('ref: version after "@" is empty');
    expect(() => parseRef('tiny@a/b')).toThrow('ref.version: must match');
  });

  it('orders numeric versions numerically and picks the next one', () => {
    expect(['10', '9', 'b', '1', 'a'].sort(compareVersions)).toEqual(['1', '9', '10', 'a', 'b']);
    expect(nextVersion([])).toBe('1');
    expect(nextVersion(['1', '9', 'v20'])).toBe('10');
  });
});
