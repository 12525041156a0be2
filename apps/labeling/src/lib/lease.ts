// Lease rules of the assignment queue: how long a lease lasts, when it is dead, which candidate an
// annotator tries first, and the random response order shown to each annotator.

export const DEFAULT_LEASE_MS = 10 * 60_000;

export interface LeaseLike {
  status: 'leased' | 'submitted' | 'skipped' | 'expired';
  expires_at: number;
}

export function leaseExpiry(now: number, leaseMs: number = DEFAULT_LEASE_MS): number {
  if (!Number.isFinite(leaseMs) || leaseMs <= 0) throw new RangeError(`leaseMs: must be a positive number, got ${leaseMs}`);
  return now + leaseMs;
}

/** A lease still holds its slot while leased and not past its expiry. */
export function isLeaseActive(lease: LeaseLike, now: number): boolean {
  return lease.status === 'leased' && lease.expires_at > now;
}

/** A leased row past its expiry goes back to the pool. */
export function isLeaseAbandoned(lease: LeaseLike, now: number): boolean {
  return lease.status === 'leased' && lease.expires_at <= now;
}

/**
 * Order the candidates: comparisons closest to done first (fewest open slots), then oldest, and
 * shuffle within the first `spread` so concurrent annotators rarely race for the same row.
 */
export function candidateOrder<T extends { open_slots: number; created_at: number }>(
  candidates: T[],
  random: () => number,
  spread = 8,
): T[] {
  const sorted = [...candidates].sort((a, b) => a.open_slots - b.open_slots || a.created_at - b.created_at);
  const head = sorted.slice(0, spread);
  for (let i = head.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [head[i], head[j]] = [head[j], head[i]];
  }
  return [...head, ...sorted.slice(spread)];
}

/** A uniformly random permutation of 0..k-1 (Fisher-Yates); randomInt(n) returns an integer in [0, n). */
export function randomOrder(k: number, randomInt: (n: number) => number): number[] {
  const order = Array.from({ length: k }, (_, i) => i);
  for (let i = k - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
