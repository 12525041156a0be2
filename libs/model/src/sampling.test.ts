// Sampling filters against hand-computed cases: temperature, top-k, top-p, min-p, repetition penalty.
import { describe, expect, it } from 'vitest';
import { createRng } from '@tuneloop/engine';
import { applyRepetitionPenalty, filteredProbs, sampleToken } from './sampling.ts';

const logitsOf = (p: number[]) => Float32Array.from(p.map((x) => Math.log(x)));

describe('sampling', () => {
  const probs = [0.5, 0.25, 0.15, 0.1];
  it('top-k keeps the k most likely, renormalised', () => {
    const p = filteredProbs(logitsOf(probs), { topK: 2 });
    expect(p[0]).toBeCloseTo(0.5 / 0.75, 6);
    expect(p[1]).toBeCloseTo(0.25 / 0.75, 6);
    expect(p[2]).toBe(0);
  });
  it('top-p keeps the smallest prefix reaching p', () => {
    const p = filteredProbs(logitsOf(probs), { topP: 0.8 });
    expect(Array.from(p).map((x) => x > 0)).toEqual([true, true, true, false]);
    expect(p[2]).toBeCloseTo(0.15 / 0.9, 6);
  });
  it('min-p drops tokens below minP * p_max', () => {
    const p = filteredProbs(logitsOf(probs), { minP: 0.25 });
    expect(Array.from(p).map((x) => x > 0)).toEqual([true, true, true, false]);
  });
  it('temperature sharpens: T=0.5 squares probabilities before normalising', () => {
    const p = filteredProbs(logitsOf(probs), { temperature: 0.5 });
    const z = probs.reduce((a, x) => a + x * x, 0);
    probs.forEach((x, i) => expect(p[i]).toBeCloseTo((x * x) / z, 6));
  });
  it('repetition penalty divides positive and multiplies negative logits', () => {
    const l = Float32Array.from([2, -2, 1]);
    applyRepetitionPenalty(l, [0, 1, 1], 2);
    expect(Array.from(l)).toEqual([1, -4, 1]);
  });
  it('draws with the filtered frequencies and greedy at T=0', () => {
    const rng = createRng(1);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[sampleToken(logitsOf(probs), { topK: 2 }, rng)]++;
    expect(counts[2] + counts[3]).toBe(0);
    expect(Math.abs(counts[0] / 4000 - 2 / 3)).toBeLessThan(0.03);
    expect(sampleToken(logitsOf([0.1, 0.6, 0.3]), { temperature: 0 }, rng)).toBe(1);
  });
});
