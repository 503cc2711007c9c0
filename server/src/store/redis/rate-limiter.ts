import type { Redis } from 'ioredis';
import type { RateLimiter } from '../../domain/token-bucket.js';
import { LuaScript } from './scripts.js';

/**
 * KEYS: the bucket. ARGV: ratePerSec, burst, now (ms).
 * The bucket is a hash { tokens, last }; it expires once it would be full again,
 * so idle callers cost nothing. Returns '0' when a token was taken, else the
 * seconds until one is available (as a string: Lua numbers reach the client as integers).
 */
const TAKE = new LuaScript(`
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens, last = tonumber(bucket[1]), tonumber(bucket[2])
if not tokens then tokens, last = burst, now end
-- Nodes' clocks differ a little: a caller behind the last update refills nothing rather than going back in time.
if now > last then
  tokens = math.min(burst, tokens + (now - last) / 1000 * rate)
  last = now
end
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'last', string.format('%.0f', last))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return string.format('%.17g', wait)
`);

export interface RedisRateLimiterOptions {
  /** A connected ioredis client, owned by the caller. */
  redis: Redis;
  /** Tokens per second; 0 or less disables the limit. */
  ratePerSec: number;
  /** Tokens saved up at most. */
  burst: number;
  /** Prepended to every bucket key (`<prefix>rl:<key>`). @default "herald:" */
  prefix?: string;
}

/**
 * Token buckets keyed by caller, shared by every node through Redis: the same
 * contract as `KeyedRateLimiter`, one Lua script (one round trip) per call.
 *
 * @example
 * const limiter = new RedisRateLimiter({ redis, ratePerSec: 50, burst: 100 });
 * const wait = await limiter.consume(`publish:${sub}`, Date.now());
 * if (wait > 0) reply429(Math.ceil(wait));
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;
  private readonly ratePerSec: number;
  private readonly burst: number;
  private readonly prefix: string;

  constructor(opts: RedisRateLimiterOptions) {
    this.redis = opts.redis;
    this.ratePerSec = opts.ratePerSec;
    this.burst = opts.burst;
    this.prefix = opts.prefix ?? 'herald:';
  }

  /** Resolves 0 when allowed, else the seconds to wait; rejects when Redis cannot be reached. */
  async consume(key: string, now: number): Promise<number> {
    if (this.ratePerSec <= 0) return 0;
    const wait = await TAKE.run(this.redis, [`${this.prefix}rl:${key}`], [this.ratePerSec, this.burst, Math.floor(now)]);
    return Number(wait);
  }
}
