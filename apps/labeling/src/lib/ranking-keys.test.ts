import { describe, expect, it } from 'vitest';
import { applyKey, emptyPicks, isComplete, movePick, toPositionRanking } from './ranking-keys.ts';

const press = (k: number, keys: string[]) => keys.reduce(applyKey, emptyPicks(k));

describe('ranking keys', () => {
  it('1..K picks best first and implies the last', () => {
    const s = press(3, ['2', '3']);
    expect(isComplete(s)).toBe(true);
    expect(toPositionRanking(s)).toEqual([[1], [2], [0]]);
    expect(press(3, ['2', '2']).picks).toEqual([1]);
    expect(press(3, ['4']).picks).toEqual([]);
  });
  it('K = 2: 1, 2, T and B', () => {
    expect(toPositionRanking(press(2, ['2']))).toEqual([[1], [0]]);
    expect(toPositionRanking(press(2, ['t']))).toEqual([[0, 1]]);
    const bb = press(2, ['B']);
    expect(bb.bothBad).toBe(true);
    expect(toPositionRanking(bb)).toEqual([[0, 1]]);
    expect(press(3, ['t']).tie).toBe(false);
  });
  it('Backspace undoes a pick (the implied last with it), Escape clears', () => {
    expect(press(3, ['2', '3', 'Backspace']).picks).toEqual([1]);
    expect(press(4, ['1', 'Backspace']).picks).toEqual([]);
    expect(press(2, ['t', 'Backspace']).tie).toBe(false);
    expect(press(3, ['1', 'Escape']).picks).toEqual([]);
    expect(() => toPositionRanking(press(3, ['1']))).toThrow('ranking: incomplete, 1 of 3 picked');
  });
  it('drag-and-drop reorders a complete ranking', () => {
    expect(movePick(press(3, ['1', '2']), 2, 0).picks).toEqual([2, 0, 1]);
  });
});

describe('placeAt (drag-and-drop)', () => {
  it('inserts at a slot, moves an already ranked response, implies the last', async () => {
    const { placeAt } = await import('./ranking-keys.ts');
    let s = placeAt(emptyPicks(3), 2, 0);
    expect(s.picks).toEqual([2]);
    s = placeAt(s, 0, 0);
    expect(s.picks).toEqual([0, 2, 1]);
    expect(placeAt(s, 1, 0).picks).toEqual([1, 0, 2]);
  });
});
