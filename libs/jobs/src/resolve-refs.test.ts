// withStoreRetry: a job thread retries store look-ups while the store is unreachable, and only then.
import { RetryableError } from '@tuneloop/bus';
import { InvalidArgumentError, UnavailableError } from '@tuneloop/service-kit';
import { describe, expect, it } from 'vitest';
import { withStoreRetry } from './resolve-refs.ts';

describe('withStoreRetry', () => {
  it('retries UNAVAILABLE / retryable errors, then returns', async () => {
    let calls = 0;
    const errs = [new UnavailableError('store down'), new RetryableError('model store: UNAVAILABLE')];
    const v = await withStoreRetry(async () => {
      if (calls < errs.length) throw errs[calls++];
      return 'ok';
    }, [1, 1, 1]);
    expect([v, calls]).toEqual(['ok', 2]);
  });

  it('rethrows other errors at once, and a retryable one after the last delay', async () => {
    let calls = 0;
    await expect(withStoreRetry(async () => {
      calls++;
      throw new InvalidArgumentError('spec.base_model', 'bad');
    }, [1, 1])).rejects.toThrow('spec.base_model: bad');
    expect(calls).toBe(1);
    calls = 0;
    await expect(withStoreRetry(async () => {
      calls++;
      throw new UnavailableError('still down');
    }, [1, 1])).rejects.toThrow('still down');
    expect(calls).toBe(3);
  });
});
