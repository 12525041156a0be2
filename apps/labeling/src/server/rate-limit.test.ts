import { describe, expect, it } from 'vitest';
import { FailureLimiter } from './rate-limit.ts';
import { hashPassword, verifyPassword } from './passwords.ts';

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

describe('scrypt passwords', () => {
  it('verifies the right password only, with a fresh salt each time', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword('correct horse battery', a)).toBe(true);
    expect(await verifyPassword('correct horse batterx', a)).toBe(false);
    expect(await verifyPassword('x', 'garbage')).toBe(false);
  });
});
