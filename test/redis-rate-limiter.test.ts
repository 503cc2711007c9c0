import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisRateLimiter } from '../server/src/store/redis/rate-limiter.js';
import { startRedis, type RedisProcess } from './redis-server.js';

const T0 = Date.UTC(2026, 10, 21, 10, 0, 0);

describe('RedisRateLimiter', () => {
  let server: RedisProcess;
  let first: Redis;
  let second: Redis;
  const errors: Error[] = [];

  const connect = async () => {
    const client = new Redis(server.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
    client.on('error', (err: Error) => errors.push(err));
    await client.connect();
    return client;
  };

  beforeAll(async () => {
    server = await startRedis();
    [first, second] = await Promise.all([connect(), connect()]);
  });
  afterEach(async () => {
    await first.flushdb();
  });
  afterAll(async () => {
    first.disconnect();
    second.disconnect();
    await server.stop();
    // Only the outage the last test causes may surface as client errors.
    expect(errors.filter((err) => !/ECONNREFUSED|ECONNRESET|EPIPE|Connection is closed/.test(err.message))).toEqual([]);
  });

  it('shares one budget between two limiters on two clients, as two nodes would', async () => {
    const a = new RedisRateLimiter({ redis: first, ratePerSec: 2, burst: 4 });
    const b = new RedisRateLimiter({ redis: second, ratePerSec: 2, burst: 4 });
    const waits = [];
    for (let i = 0; i < 4; i++) waits.push(await (i % 2 ? a : b).consume('publisher:svc', T0));
    expect(waits).toEqual([0, 0, 0, 0]);
    expect(await a.consume('publisher:svc', T0)).toBeCloseTo(0.5, 6);
    expect(await b.consume('publisher:svc', T0 + 250)).toBeCloseTo(0.25, 6);
    // Half a second refills one token at 2 per second: one caller gets it, the next waits again.
    expect(await b.consume('publisher:svc', T0 + 500)).toBe(0);
    expect(await a.consume('publisher:svc', T0 + 500)).toBeCloseTo(0.5, 6);
  });

  it('keeps separate budgets per key', async () => {
    const limiter = new RedisRateLimiter({ redis: first, ratePerSec: 1, burst: 1 });
    expect(await limiter.consume('a', T0)).toBe(0);
    expect(await limiter.consume('a', T0)).toBeCloseTo(1, 6);
    expect(await limiter.consume('b', T0)).toBe(0);
  });

  it('does not refill for a caller whose clock is behind the last update', async () => {
    const limiter = new RedisRateLimiter({ redis: first, ratePerSec: 1, burst: 1 });
    expect(await limiter.consume('skew', T0)).toBe(0);
    expect(await limiter.consume('skew', T0 - 5_000)).toBeCloseTo(1, 6);
  });

  it('lets an idle bucket expire once it would be full again', async () => {
    const limiter = new RedisRateLimiter({ redis: first, ratePerSec: 10, burst: 20, prefix: 'rl-test:' });
    expect(await limiter.consume('idle', T0)).toBe(0);
    const ttl = await first.pttl('rl-test:rl:idle');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1_100);
  });

  it('allows everything without touching Redis when the rate is 0', async () => {
    const limiter = new RedisRateLimiter({ redis: first, ratePerSec: 0, burst: 0 });
    for (let i = 0; i < 5; i++) expect(await limiter.consume('free', T0)).toBe(0);
    expect(await first.dbsize()).toBe(0);
  });

  it('rejects while Redis is down instead of letting callers through', async () => {
    const limiter = new RedisRateLimiter({ redis: first, ratePerSec: 1, burst: 1 });
    await server.stop();
    try {
      await expect(limiter.consume('down', T0)).rejects.toThrow();
    } finally {
      await server.restart();
    }
    await Promise.all([first, second].map((client) => (client.status === 'ready' ? undefined : new Promise((resolve) => client.once('ready', resolve)))));
    expect(await limiter.consume('down', T0)).toBe(0);
  });
});
