import { describe, expect, it } from 'vitest';
import { candidateOrder, isLeaseAbandoned, isLeaseActive, leaseExpiry, randomOrder } from './lease.ts';

describe('lease rules', () => {
  it('a lease is active until its expiry, then abandoned', () => {
    const lease = { status: 'leased' as const, expires_at: leaseExpiry(1000, 500) };
    expect(isLeaseActive(lease, 1499)).toBe(true);
    expect(isLeaseAbandoned(lease, 1499)).toBe(false);
    expect(isLeaseActive(lease, 1500)).toBe(false);
    expect(isLeaseAbandoned(lease, 1500)).toBe(true);
    expect(isLeaseAbandoned({ status: 'submitted', expires_at: 0 }, 1500)).toBe(false);
    expect(() => leaseExpiry(0, 0)).toThrow('leaseMs: must be a positive number, got 0');
  });
  it('orders candidates closest to done first and spreads the head', () => {
    const cs = [{ id: 'a', open_slots: 3, created_at: 1 }, { id: 'b', open_slots: 1, created_at: 5 }, { id: 'c', open_slots: 1, created_at: 2 }];
    expect(candidateOrder(cs, () => 0.999, 1).map((c) => c.id)).toEqual(['c', 'b', 'a']);
    const firsts = new Set(Array.from({ length: 50 }, (_, i) => candidateOrder(cs, () => (i * 0.37) % 1)[0].id));
    expect(firsts.size).toBeGreaterThan(1);
  });
  it('random orders are permutations and cover all of them', () => {
    const seen = new Set<string>();
    let s = 7; // mulberry32
    const rnd = (n: number) => {
      s = (s + 0x6d2b79f5) | 0;
      let t = Math.imul(s ^ (s >>> 15), 1 | s);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
    };
    for (let i = 0; i < 200; i++) {
      const o = randomOrder(3, rnd);
      expect([...o].sort()).toEqual([0, 1, 2]);
      seen.add(o.join());
    }
    expect(seen.size).toBe(6);
  });
});
