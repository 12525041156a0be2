import { describe, expect, it } from 'vitest';
import { batchSampler } from './batch-order.ts';
import { createRng } from './rng.ts';

describe('batchSampler', () => {
  it('visits every index once per epoch, continues across epochs, and is a function of the seed', () => {
    const next = batchSampler(createRng(3), 5, 2);
    const draws = [next(), next(), next(), next(), next()].flat(); // 10 draws = 2 epochs of 5
    expect([...draws.slice(0, 5)].sort()).toEqual([0, 1, 2, 3, 4]);
    expect([...draws.slice(5)].sort()).toEqual([0, 1, 2, 3, 4]);
    const again = batchSampler(createRng(3), 5, 2);
    expect([again(), again(), again(), again(), again()].flat()).toEqual(draws);
    const other = batchSampler(createRng(4), 5, 2);
    expect([other(), other(), other(), other(), other()].flat()).not.toEqual(draws);
  });
  it('names a bad argument', () => {
    expect(() => batchSampler(createRng(1), 0, 2)).toThrow('n: must be an integer >= 1, got 0');
    expect(() => batchSampler(createRng(1), 3, 0)).toThrow('batchSize: must be an integer >= 1, got 0');
  });
});
