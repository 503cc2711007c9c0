/**
 * A token bucket: `ratePerSec` tokens a second, at most `burst` saved up.
 * Two numbers of state, so one can live on every socket.
 *
 * @example
 * const bucket = new TokenBucket(20, 40);
 * if (!bucket.take(Date.now())) reject();
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    now = Date.now(),
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes one token; false when the bucket is empty. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Seconds until one token is available (0 when one is). */
  retryAfter(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : (1 - this.tokens) / this.ratePerSec;
  }

  /** Whether the bucket has refilled completely (and so can be forgotten). */
  isFullAt(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSec);
    this.last = now;
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
