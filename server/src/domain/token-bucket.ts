/**
 * The state of a token bucket: two numbers, so they can live on another object
 * (every socket's `data`) and be updated by `takeToken`, with no object of their own.
 */
export interface BucketState {
  tokens: number;
  /** When `tokens` was last brought up to date (ms since the epoch). */
  refilledAt: number;
}

/**
 * Takes one token from `state`, refilled at `ratePerSec` up to `burst`; false when the bucket is empty.
 *
 * @example
 * const state = { tokens: 40, refilledAt: Date.now() };
 * if (!takeToken(state, 20, 40, Date.now())) reject();
 */
export function takeToken(state: BucketState, ratePerSec: number, burst: number, now: number): boolean {
  refill(state, ratePerSec, burst, now);
  if (state.tokens < 1) return false;
  state.tokens -= 1;
  return true;
}

function refill(state: BucketState, ratePerSec: number, burst: number, now: number): void {
  state.tokens = Math.min(burst, state.tokens + ((now - state.refilledAt) / 1000) * ratePerSec);
  state.refilledAt = now;
}

/**
 * A token bucket: `ratePerSec` tokens a second, at most `burst` saved up.
 *
 * @example
 * const bucket = new TokenBucket(20, 40);
 * if (!bucket.take(Date.now())) reject();
 */
export class TokenBucket implements BucketState {
  tokens: number;
  refilledAt: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    now = Date.now(),
  ) {
    this.tokens = burst;
    this.refilledAt = now;
  }

  /** Takes one token; false when the bucket is empty. */
  take(now: number): boolean {
    return takeToken(this, this.ratePerSec, this.burst, now);
  }

  /** Seconds until one token is available (0 when one is). */
  retryAfter(now: number): number {
    refill(this, this.ratePerSec, this.burst, now);
    return this.tokens >= 1 ? 0 : (1 - this.tokens) / this.ratePerSec;
  }

  /** Whether the bucket has refilled completely (and so can be forgotten). */
  isFullAt(now: number): boolean {
    refill(this, this.ratePerSec, this.burst, now);
    return this.tokens >= this.burst;
  }
}

/** A per-caller limit: `consume` resolves 0 when allowed, else the seconds to wait. */
export interface RateLimiter {
  consume(key: string, now: number): Promise<number>;
}

/** Token buckets keyed by caller, for REST. Idle full buckets are swept so the map stays small. */
export class KeyedRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private lastSweep = 0;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
  ) {}

  /** Resolves 0 when allowed, else the seconds to wait. Async so a shared (Redis) limiter can fill it. */
  async consume(key: string, now: number): Promise<number> {
    if (this.ratePerSec <= 0) return 0;
    this.sweep(now);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.ratePerSec, this.burst, now);
      this.buckets.set(key, bucket);
    }
    return bucket.take(now) ? 0 : bucket.retryAfter(now);
  }

  private sweep(now: number): void {
    // A bucket untouched for longer than it takes to refill is full again: forget it.
    const idle = (this.burst / this.ratePerSec) * 1000;
    if (now - this.lastSweep < Math.max(idle, 1000)) return;
    this.lastSweep = now;
    for (const [key, bucket] of this.buckets) if (bucket.isFullAt(now)) this.buckets.delete(key);
  }
}
