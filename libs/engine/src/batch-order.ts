// The trainers' batch order: indices 0..n-1 reshuffled (seeded) at every epoch, batches drawn from the end of the
// current order and continuing across epoch boundaries. A pure function of (rng, n, batchSize) and the number of
// batches drawn, so a resumed run replays the draws of the steps it skips.
import type { Rng } from './rng.ts';

/** Returns `next()`: the next batch of `batchSize` indices in [0, n). */
export function batchSampler(rng: Rng, n: number, batchSize: number): () => number[] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`n: must be an integer >= 1, got ${n}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize: must be an integer >= 1, got ${batchSize}`);
  let order: number[] = [];
  return () => {
    const out: number[] = [];
    while (out.length < batchSize) {
      if (order.length === 0) order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
      out.push(order.pop() as number);
    }
    return out;
  };
}
