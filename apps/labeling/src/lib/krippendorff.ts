// Krippendorff's alpha (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability"), from the
// coincidence matrix, with the nominal, ordinal, interval and ratio difference functions.

export type AlphaMetric = 'nominal' | 'ordinal' | 'interval' | 'ratio';

/**
 * units[u] = the values the coders gave unit u (missing values left out). Units with fewer than
 * two values are not pairable and are ignored. Returns NaN when there is no pairable unit or no
 * variation at all (expected disagreement 0).
 */
export function krippendorffAlpha(units: number[][], metric: AlphaMetric): number {
  const pairable = units.filter((u) => u.length >= 2);
  const values = [...new Set(pairable.flat())].sort((a, b) => a - b);
  const index = new Map(values.map((v, i) => [v, i]));
  const V = values.length;
  // o[c][k]: coincidences of values c and k, each unit's ordered pairs weighted by 1 / (m_u - 1).
  const o = Array.from({ length: V }, () => new Array<number>(V).fill(0));
  for (const unit of pairable) {
    const w = 1 / (unit.length - 1);
    for (let i = 0; i < unit.length; i++) {
      for (let j = 0; j < unit.length; j++) {
        if (i !== j) o[index.get(unit[i])!][index.get(unit[j])!] += w;
      }
    }
  }
  const nc = o.map((row) => row.reduce((s, x) => s + x, 0));
  const n = nc.reduce((s, x) => s + x, 0);
  if (n <= 1) return NaN;
  const delta2 = (c: number, k: number): number => {
    const a = values[c];
    const b = values[k];
    switch (metric) {
      case 'nominal':
        return c === k ? 0 : 1;
      case 'interval':
        return (a - b) ** 2;
      case 'ratio':
        return a + b === 0 ? 0 : ((a - b) / (a + b)) ** 2;
      case 'ordinal': {
        const [lo, hi] = c <= k ? [c, k] : [k, c];
        let s = 0;
        for (let g = lo; g <= hi; g++) s += nc[g];
        return (s - (nc[lo] + nc[hi]) / 2) ** 2;
      }
    }
  };
  let observed = 0;
  let expected = 0;
  for (let c = 0; c < V; c++) {
    for (let k = 0; k < V; k++) {
      const d = delta2(c, k);
      observed += o[c][k] * d;
      expected += nc[c] * nc[k] * d;
    }
  }
  if (expected === 0) return NaN;
  return 1 - ((n - 1) * observed) / expected;
}
