import { describe, expect, it } from 'vitest';
import { KeyedRateLimiter, TokenBucket, takeToken } from './token-bucket.js';

describe('a token bucket', () => {
  it('lets a full burst through, then one token per 1/rate seconds', () => {
    const bucket = new TokenBucket(10, 3, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, true, false]);
    expect(bucket.retryAfter(0)).toBeCloseTo(0.1);
    expect(bucket.take(50)).toBe(false);
    expect(bucket.retryAfter(50)).toBeCloseTo(0.05);
    expect(bucket.take(100)).toBe(true);
    expect(bucket.take(100)).toBe(false);
  });

  it('saves up no more than its burst however long it stays idle', () => {
    const bucket = new TokenBucket(10, 2, 0);
    bucket.take(0);
    bucket.take(0);
    const after = [1, 2, 3].map(() => bucket.take(3_600_000));
    expect(after).toEqual([true, true, false]);
  });

  it('keeps its state on another object (a socket): two numbers, updated in place', () => {
    const state = { tokens: 1, refilledAt: 1000 };
    expect(takeToken(state, 5, 2, 1000)).toBe(true);
    expect(state).toEqual({ tokens: 0, refilledAt: 1000 });
    expect(takeToken(state, 5, 2, 1100)).toBe(false);
    expect(state.tokens).toBeCloseTo(0.5);
    expect(takeToken(state, 5, 2, 1200)).toBe(true);
  });
});

describe('the keyed rate limiter of REST', () => {
  it('gives each caller a bucket of its own and answers the seconds to wait', async () => {
    const limiter = new KeyedRateLimiter(1, 2);
    expect(await limiter.consume('ann', 0)).toBe(0);
    expect(await limiter.consume('ann', 0)).toBe(0);
    expect(await limiter.consume('ann', 0)).toBeCloseTo(1);
    expect(await limiter.consume('bob', 0)).toBe(0);
    expect(await limiter.consume('ann', 500)).toBeCloseTo(0.5);
    expect(await limiter.consume('ann', 1000)).toBe(0);
  });

  it('lets everything through when the rate is 0 (the limit off)', async () => {
    const limiter = new KeyedRateLimiter(0, 0);
    for (let i = 0; i < 100; i++) expect(await limiter.consume('ann', 0)).toBe(0);
  });
});
