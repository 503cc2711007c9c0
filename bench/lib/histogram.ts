/**
 * A latency histogram with logarithmic buckets (2 % wide), small enough to send
 * over IPC and merge across client processes, precise enough for p50 and p99.
 */
const PER_E = 50; // buckets per factor of e: each ≈ 2 % wide

export class Histogram {
  /** Sparse counts by bucket index. */
  readonly counts = new Map<number, number>();
  count = 0;
  max = 0;

  /** Records one value in microseconds (values below 1 µs count as 1 µs). */
  record(micros: number): void {
    const bucket = Math.floor(Math.log(Math.max(1, micros)) * PER_E);
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
    this.count++;
    if (micros > this.max) this.max = micros;
  }

  merge(other: HistogramData): void {
    for (const [bucket, n] of other.counts) this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + n);
    this.count += other.count;
    this.max = Math.max(this.max, other.max);
  }

  /** The value at quantile `q` (0–1), in microseconds: the middle of its bucket. NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket)!;
      if (seen >= rank) return Math.min(this.max, Math.exp((bucket + 0.5) / PER_E));
    }
    return this.max;
  }

  toJSON(): HistogramData {
    return { counts: [...this.counts], count: this.count, max: this.max };
  }

  reset(): void {
    this.counts.clear();
    this.count = 0;
    this.max = 0;
  }
}

/** What a histogram looks like on the wire. */
export interface HistogramData {
  counts: [number, number][];
  count: number;
  max: number;
}

/** Monotonic time in microseconds, comparable across the processes of one machine (CLOCK_MONOTONIC). */
export const nowMicros = (): number => Number(process.hrtime.bigint() / 1000n);
