// The synthetic preference task and the simulated annotator: grades, seeding, splits, noise rate.
import { describe, expect, it } from 'vitest';
import { isHeldOut } from '../arith.ts';
import { DEFAULT_PAIR_MIX, groundTruthScore, heuristicAccuracy, isStylePair, parseAddition, preferenceTask, type ResponseKind } from './task.ts';
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
  it('is not trivial: neither "shorter is better" nor "the correct one is better" decides the default mix', () => {
    const pairs = preferenceTask({ seed: 1, count: 4000, split: 'train' });
    const shorter = heuristicAccuracy(pairs, 'shorter');
    const correct = heuristicAccuracy(pairs, 'correct');
    expect(shorter).toBeGreaterThan(0.62);
    expect(shorter).toBeLessThan(0.74);
    expect(correct).toBeGreaterThan(0.72);
    expect(correct).toBeLessThan(0.78);
    // Half the pairs differ only in style; the other half need the sum (an eighth have the longer one better).
    expect(pairs.filter(isStylePair).length / pairs.length).toBeCloseTo(0.5, 1);
    expect(pairs.filter((p) => p.betterKind === 'correct-rambling' && !p.worseKind.endsWith('rambling')).length / pairs.length).toBeCloseTo(0.125, 1);
    const types = new Set(pairs.map((p) => `${p.betterKind}>${p.worseKind}`));
    expect([...types].sort()).toEqual(Object.keys(DEFAULT_PAIR_MIX).sort());
    // Wrong answers of the default mix are far (no near misses): concise wrong scores 1, rambling wrong 0.
    for (const p of pairs) {
      for (const [r, k] of [[p.better, p.betterKind], [p.worse, p.worseKind]] as const) {
        if (k === 'wrong-far') expect(groundTruthScore(p.prompt, r)).toBe(1);
        if (k === 'wrong-rambling') expect(groundTruthScore(p.prompt, r)).toBe(0);
      }
    }
  });
  it('scores the heuristics by hand on a few pairs (a tie counts 1/2)', () => {
    const p = (better: string, worse: string, betterKind: ResponseKind, worseKind: ResponseKind) => ({ prompt: '12+34=', better, worse, betterKind, worseKind, scoreGap: 1 });
    const pairs = [p('46', '46 ok', 'correct', 'correct-rambling'), p('46 so yes', '47', 'correct-rambling', 'wrong-close'), p('46', '99', 'correct', 'wrong-far')];
    expect(heuristicAccuracy(pairs, 'shorter')).toBeCloseTo((1 + 0 + 0.5) / 3);
    expect(heuristicAccuracy(pairs, 'correct')).toBeCloseTo((0.5 + 1 + 1) / 3);
  });
  it('honours pairMix and kindWeights and rejects bad options', () => {
    const only = preferenceTask({ seed: 1, count: 50, split: 'train', pairMix: { 'correct-rambling>wrong-close': 1 } });
    for (const p of only) expect([p.betterKind, p.worseKind]).toEqual(['correct-rambling', 'wrong-close']);
    const pairs = preferenceTask({ seed: 1, count: 50, split: 'train', kindWeights: { 'wrong-far': 0, 'wrong-rambling': 0, 'wrong-close': 0 } });
    for (const p of pairs) expect([p.betterKind, p.worseKind].sort()).toEqual(['correct', 'correct-rambling']);
    expect(preferenceTask({ seed: 1, count: 400, split: 'train', kindWeights: {} }).some((p) => p.betterKind === 'wrong-close' && p.worseKind === 'wrong-far')).toBe(true);
    expect(() => preferenceTask({ seed: 1, count: 0, split: 'train' })).toThrow('count: must be an integer >= 1, got 0');
    expect(() => preferenceTask({ seed: 1, count: 5, split: 'train', kindWeights: { correct: -1 } })).toThrow('kindWeights.correct: must be a finite number >= 0, got -1');
    expect(() => preferenceTask({ seed: 1, count: 5, split: 'train', pairMix: { 'wrong-far>correct': 1 } })).toThrow("pairMix['wrong-far>correct']: the better kind must come first");
    expect(() => preferenceTask({ seed: 1, count: 5, split: 'train', pairMix: { 'correct>nope': 1 } as never })).toThrow("pairMix['correct>nope']: must be 'better>worse'");
    expect(() => preferenceTask({ seed: 1, count: 5, split: 'train', pairMix: { 'correct>wrong-far': 0 } })).toThrow('pairMix: at least one pair type needs a weight > 0');
    expect(() => preferenceTask({ seed: 1, count: 5, split: 'train', pairMix: { 'correct>wrong-far': 1 }, kindWeights: {} })).toThrow('pairMix: give either pairMix or kindWeights, not both');
    expect(() => preferenceTask({ seed: 1, count: 5, split: 'train', closeRambling: 2 })).toThrow('closeRambling: must be in [0, 1], got 2');
    const near = preferenceTask({ seed: 1, count: 200, split: 'train', pairMix: { 'correct-rambling>wrong-rambling': 1 }, closeRambling: 1 });
    for (const p of near) expect(groundTruthScore(p.prompt, p.worse)).toBe(0.5);
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
