import { describe, expect, it } from 'vitest';
import { FailureLimiter } from './rate-limit.ts';

describe('FailureLimiter', () => {
  it('refuses after max failures until the window ends', () => {
    const l = new FailureLimiter(3, 60_000);
    for (let i = 0; i < 3; i++) { expect(l.retryAfterS('k', 1000)).toBe(0); l.fail('k', 1000); }
    expect(l.retryAfterS('k', 1000)).toBe(60);
    expect(l.retryAfterS('k', 61_000)).toBe(0);
    l.fail('j', 0); l.reset('j');
    expect(l.retryAfterS('j', 0)).toBe(0);
  });
});
