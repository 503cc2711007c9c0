import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { ActivitySample } from '../../../protocol/admin.js';

/** Sampling interval of the event-loop delay histogram. */
const LAG_RESOLUTION_MS = 20;

/**
 * Kept counters of what flows through this node, sampled once a second into a
 * ten-minute history, plus the event-loop lag. Nothing here lists sockets.
 */
export class Activity {
  published = 0;
  delivered = 0;
  eventLoopLagMs = 0;
  readonly history: ActivitySample[] = [];
  private readonly lag: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  private lastPublished = 0;
  private lastDelivered = 0;

  constructor(
    private readonly connections: () => number,
    private readonly now: () => number = Date.now,
    private readonly keepSeconds = 600,
  ) {
    this.lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    this.lag.enable();
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
  }

  record(published: number, delivered: number): void {
    this.published += published;
    this.delivered += delivered;
  }

  /** Notifications published per second over the last five seconds. */
  ratePerSec(): number {
    const recent = this.history.slice(-5);
    if (recent.length === 0) return 0;
    return Math.round((recent.reduce((sum, s) => sum + s.published, 0) / recent.length) * 10) / 10;
  }

  close(): void {
    clearInterval(this.timer);
    this.lag.disable();
  }

  private sample(): void {
    this.history.push({
      t: Math.floor(this.now() / 1000) * 1000,
      connections: this.connections(),
      published: this.published - this.lastPublished,
      delivered: this.delivered - this.lastDelivered,
    });
    if (this.history.length > this.keepSeconds) this.history.shift();
    this.lastPublished = this.published;
    this.lastDelivered = this.delivered;
    // The histogram's timer fires every LAG_RESOLUTION_MS, and each sample includes that
    // interval: an idle loop would read 20 ms. Lag is what exceeds it.
    const lagMs = Math.max(0, this.lag.mean / 1e6 - LAG_RESOLUTION_MS);
    this.eventLoopLagMs = Math.round(lagMs * 100) / 100;
    this.lag.reset();
  }
}
