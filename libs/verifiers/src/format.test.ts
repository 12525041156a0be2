// Format verifier: tags in order, exactly once, strict whitespace-only mode.
import { describe, expect, it } from 'vitest';
import { formatCheck } from './format.ts';

describe('formatCheck', () => {
  const strict = formatCheck({ tags: ['think', 'answer'], strict: true });
  const loose = formatCheck({ tags: ['think', 'answer'] });
  it('strict: only whitespace around and between the blocks', () => {
    expect(strict('q', '<think>2 and 2</think>\n<answer>4</answer>')).toBe(1);
    expect(strict('q', 'Sure. <think>x</think><answer>4</answer>')).toBe(0);
    expect(strict('q', '<answer>4</answer><think>x</think>')).toBe(0);
  });
  it('loose: in order, exactly once each, anything around', () => {
    expect(loose('q', 'Sure. <think>x</think> so <answer>4</answer> done')).toBe(1);
    expect(loose('q', '<think>x</think><answer>4</answer><answer>5</answer>')).toBe(0);
    expect(loose('q', 'The answer is <answer>4</answer>')).toBe(0);
    expect(formatCheck()('q', 'x <answer>4</answer>')).toBe(1);
  });
  it('rejects bad tag lists', () => {
    expect(() => formatCheck({ tags: [] })).toThrow('tags: must be a non-empty array');
    expect(() => formatCheck({ tags: ['ok', 'a b'] })).toThrow('tags[1]: must be a tag name');
  });
});
