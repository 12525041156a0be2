// The synthetic preference task and the simulated annotator: grades, seeding, splits, noise rate.
import { describe, expect, it } from 'vitest';
import { isHeldOut } from '../arith.ts';
import { groundTruthScore, parseAddition, preferenceTask, RESPONSE_KINDS } from './task.ts';
import { simulatedAnnotator } from './annotator.ts';
import { unpairPreferences } from './kto.ts';

describe('groundTruthScore', () => {
  it('grades correctness, then conciseness, then closeness', () => {
    expect(groundTruthScore('12+34=', '46')).toBe(3);
    expect(groundTruthScore('12+34=', '46 ok')).toBe(2);
    expect(groundTruthScore('12+34=', '47')).toBe(1.5);
    expect(groundTruthScore('12+34=', '36')).toBe(1.5);
    expect(groundTruthScore('12+34=', '99')).toBe(1);
    expect(groundTruthScore('12+34=', '45 so yes')).toBe(0.5);
    expect(groundTruthScore('12+34=', '80 or so')).toBe(0);
    expect(groundTruthScore('12+34=', '')).toBe(-1);
    expect(groundTruthScore('12+34=', 'ok 46')).toBe(-1);
  });
  it('rejects a prompt that is not an addition', () => {
    expect(parseAddition('what is 1 plus 2? ')).toBeNull();
    expect(() => groundTruthScore('hello', '3')).toThrow(/prompt: must be an addition/);
  });
});

describe('preferenceTask', () => {
  it('is seeded, orders every pair by the ground truth and keeps eval prompts held out', () => {
    const a = preferenceTask({ seed: 3, count: 200, split: 'train' });
    expect(preferenceTask({ seed: 3, count: 200, split: 'train' })).toEqual(a);
    expect(preferenceTask({ seed: 4, count: 200, split: 'train' })).not.toEqual(a);
    const ev = preferenceTask({ seed: 3, count: 100, split: 'eval' });
    for (const [set, held] of [[a, false], [ev, true]] as const) {
      for (const p of set) {
        const [x, y] = parseAddition(p.prompt)!;
        expect(isHeldOut(x, y)).toBe(held);
        expect(groundTruthScore(p.prompt, p.better) - groundTruthScore(p.prompt, p.worse)).toBeCloseTo(p.scoreGap);
        expect(p.scoreGap).toBeGreaterThan(0);
      }
    }
  });
  it('is not trivial: "shorter is better" gets only part of the pairs right, and every kind appears', () => {
    const pairs = preferenceTask({ seed: 1, count: 2000, split: 'train' });
    const shorterRight = pairs.filter((p) => p.better.length < p.worse.length).length / pairs.length;
    expect(shorterRight).toBeGreaterThan(0.3);
    expect(shorterRight).toBeLessThan(0.75);
    for (const k of RESPONSE_KINDS) expect(pairs.some((p) => p.betterKind === k || p.worseKind === k)).toBe(true);
  });
  it('honours kindWeights and rejects bad options', () => {
    const pairs = preferenceTask({ seed: 1, count: 50, split: 'train', kindWeights: { 'wrong-far': 0, 'wrong-rambling': 0, 'wrong-close': 0 } });
    for (const p of pairs) expect([p.betterKind, p.worseKind].sort()).toEqual(['correct', 'correct-rambling']);
    expect(() => preferenceTask({ seed: 1, count: 0, split: 'train' })).toThrow('count: must be an integer >= 1, got 0');
    expect(() => preferenceTask({ seed: 1, count: 5, split: 'train', kindWeights: { correct: -1 } })).toThrow('kindWeights.correct: must be >= 0, got -1');
  });
});

describe('simulatedAnnotator', () => {
  it('flips about `noise` of the labels, seeded, and reports the ground-truth gap as margin', () => {
    const pairs = preferenceTask({ seed: 2, count: 4000, split: 'train' });
    const labelled = simulatedAnnotator({ seed: 9, noise: 0.1 }).labelAll(pairs);
    const flips = labelled.filter((l, i) => l.chosen !== pairs[i].better).length / pairs.length;
    expect(flips).toBeGreaterThan(0.085);
    expect(flips).toBeLessThan(0.115);
    labelled.forEach((l, i) => {
      expect(l.flipped).toBe(l.chosen !== pairs[i].better);
      expect(l.margin).toBeCloseTo(pairs[i].scoreGap);
    });
    expect(simulatedAnnotator({ seed: 9, noise: 0.1 }).labelAll(pairs)).toEqual(labelled);
    const clean = simulatedAnnotator({ seed: 9, noise: 0 }).labelAll(pairs);
    expect(clean.every((l, i) => l.chosen === pairs[i].better)).toBe(true);
  });
  it('rejects a noise rate outside [0, 0.5]', () => {
    expect(() => simulatedAnnotator({ seed: 1, noise: 0.7 })).toThrow('noise: must be in [0, 0.5], got 0.7');
  });
  it('unpairs for KTO: chosen desirable, rejected undesirable', () => {
    const ex = unpairPreferences([{ prompt: '1+2=', chosen: '3', rejected: '4' }]);
    expect(ex).toEqual([
      { prompt: '1+2=', completion: '3', label: true },
      { prompt: '1+2=', completion: '4', label: false },
    ]);
  });
});
