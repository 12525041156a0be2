// Composite and reward-model verifiers: weighted sums skipping nulls; one batched Score call per group.
import { describe, expect, it } from 'vitest';
import { composite } from './composite.ts';
import { exactMatch } from './exact-match.ts';
import { formatCheck } from './format.ts';
import { numericAnswer } from './numeric.ts';
import { rewardModel } from './reward-model.ts';
import { verifierFromFn } from './types.ts';

const numeric = verifierFromFn('numeric', numericAnswer());
const format = verifierFromFn('format', formatCheck({ tags: ['answer'] }));

describe('composite', () => {
  it('weighted sum of the parts', async () => {
    const v = composite([{ verifier: numeric, weight: 1 }, { verifier: format, weight: 0.2 }]);
    expect(await v.score('6*7?', '<answer>42</answer>', '42')).toBeCloseTo(1.2, 12);
    expect(await v.score('6*7?', '42', '42')).toBe(1);
    expect(await v.score('6*7?', '<answer>41</answer>', '42')).toBeCloseTo(0.2, 12);
    expect(await v.scoreGroup('6*7?', ['<answer>42</answer>', 'no'], '42')).toEqual([expect.closeTo(1.2, 12), 0]);
  });
  it('skips parts that return null; null when all do', async () => {
    const v = composite([{ verifier: numeric, weight: 2 }, { verifier: verifierFromFn('em', exactMatch()), weight: 1 }]);
    expect(await v.score('q', '42')).toBeNull();
    const w = composite([{ verifier: numeric, weight: 2 }, { verifier: format, weight: 0.5 }]);
    expect(await w.score('q', '<answer>1</answer>')).toBe(0.5);
  });
  it('rejects bad weights', () => {
    expect(() => composite([])).toThrow('parts: must be a non-empty array');
    expect(() => composite([{ verifier: numeric, weight: Number.POSITIVE_INFINITY }])).toThrow('parts[0].weight: must be a finite number');
  });
});

describe('rewardModel', () => {
  it('scores a group with one call of the injected Score function', async () => {
    const calls: [string, string[]][] = [];
    const v = rewardModel({
      score: async (prompt, completions) => {
        calls.push([prompt, completions]);
        return completions.map((c) => c.length / 10);
      },
    });
    expect(await v.scoreGroup('p', ['ab', 'abcd', ''])).toEqual([0.2, 0.4, 0]);
    expect(await v.score('p', 'abc')).toBeCloseTo(0.3, 12);
    expect(calls).toEqual([['p', ['ab', 'abcd', '']], ['p', ['abc']]]);
  });
  it('rejects a missing function and a wrong number of scores', async () => {
    expect(() => rewardModel({} as never)).toThrow('score: the reward_model verifier needs a score(prompt, completions) function');
    const v = rewardModel({ score: async () => [1] });
    await expect(v.scoreGroup('p', ['a', 'b'])).rejects.toThrow('reward model: expected 2 finite scores, got [1]');
  });
});
