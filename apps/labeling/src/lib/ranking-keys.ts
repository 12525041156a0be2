// The ranking screen's keyboard state machine (pure, so it is unit-tested): keys 1..K pick responses
// best first (the last one is implied), for K = 2 also T (tie) and B (both bad); Backspace undoes a
// pick, Escape clears. Positions are screen positions (0-based).

export interface PickState {
  k: number;
  picks: number[];
  tie: boolean;
  bothBad: boolean;
}

export const emptyPicks = (k: number): PickState => ({ k, picks: [], tie: false, bothBad: false });

export function isComplete(s: PickState): boolean {
  return s.tie || s.bothBad || s.picks.length === s.k;
}

/** Apply one key; returns the same object when the key means nothing here. */
export function applyKey(s: PickState, key: string): PickState {
  const lower = key.toLowerCase();
  if (key === 'Escape') return emptyPicks(s.k);
  if (key === 'Backspace') {
    if (s.tie || s.bothBad) return emptyPicks(s.k);
    const picks = s.picks.length === s.k ? s.picks.slice(0, s.k - 2) : s.picks.slice(0, -1);
    return { ...s, picks };
  }
  if (s.k === 2 && (lower === 't' || lower === 'b')) return { k: 2, picks: [], tie: lower === 't', bothBad: lower === 'b' };
  if (/^[1-6]$/.test(key)) {
    const pos = Number(key) - 1;
    if (pos >= s.k) return s;
    return pickPosition(s, pos);
  }
  return s;
}

/** Pick a position as the next best (also used by clicks and drag-and-drop). */
export function pickPosition(s: PickState, pos: number): PickState {
  if (isComplete(s) || s.picks.includes(pos)) return s;
  const picks = [...s.picks, pos];
  if (picks.length === s.k - 1) {
    const last = Array.from({ length: s.k }, (_, i) => i).find((i) => !picks.includes(i))!;
    picks.push(last);
  }
  return { ...s, picks, tie: false, bothBad: false };
}

/** The ranking in screen positions, best first (ties and both-bad are one group). */
export function toPositionRanking(s: PickState): number[][] {
  if (s.tie || s.bothBad) return [Array.from({ length: s.k }, (_, i) => i)];
  if (s.picks.length !== s.k) throw new RangeError(`ranking: incomplete, ${s.picks.length} of ${s.k} picked`);
  return s.picks.map((p) => [p]);
}

/** Reorder the picks by moving the item at `from` to `to` (drag-and-drop in the ranked list). */
export function movePick(s: PickState, from: number, to: number): PickState {
  if (s.picks.length !== s.k || from === to) return s;
  const picks = [...s.picks];
  const [x] = picks.splice(from, 1);
  picks.splice(to, 0, x);
  return { ...s, picks };
}

/** Drag-and-drop: put screen position `pos` at rank slot `slot` (0 = best); the last one is implied. */
export function placeAt(s: PickState, pos: number, slot: number): PickState {
  if (pos < 0 || pos >= s.k) return s;
  const base = s.tie || s.bothBad ? [] : s.picks.filter((p) => p !== pos);
  const picks = [...base];
  picks.splice(Math.min(slot, picks.length), 0, pos);
  if (picks.length === s.k - 1) picks.push(Array.from({ length: s.k }, (_, i) => i).find((i) => !picks.includes(i))!);
  return { ...s, picks, tie: false, bothBad: false };
}
