/** How often the event loop is probed. */
const PROBE_MS = 50;
/** How long a node counts as overloaded after a probe found the loop late: until the next probes are on time. */
const HOLD_MS = 200;

/**
 * Whether this node's event loop is overloaded: a timer due every 50 ms
 * measures how late it fires. Past `thresholdMs` of lateness the node is
 * overloaded for the next 200 ms (a few probes), so that a burst of work does
 * not flap the state, and no longer: a storm's one long turn should not turn
 * away the clients that arrive once the loop runs again. After a long block the probe's timer is the first callback to run
 * (timers run before the I/O that queued up meanwhile), so the handshakes and
 * publishes waiting behind the block are already refused.
 *
 * @example
 * const load = new LoadMonitor(250);
 * if (load.overloaded()) refuse(503, load.retryAfterSec);
 * load.close();
 */
export class LoadMonitor {
  /** How late the last probe fired, in milliseconds. */
  lagMs = 0;
  private overloadedUntil = 0;
  private due: number;
  private readonly timer: NodeJS.Timeout;

  /**
   * @param thresholdMs lateness past which the node is overloaded; 0 never is (OVERLOAD_LAG_MS).
   * @param onOverload called when the node becomes overloaded (not again until it has recovered).
   */
  constructor(
    private readonly thresholdMs: number,
    private readonly now: () => number = () => performance.now(),
    private readonly onOverload: (lagMs: number) => void = () => {},
  ) {
    this.due = this.now() + PROBE_MS;
    this.timer = setInterval(() => this.probe(), PROBE_MS);
    this.timer.unref();
  }

  /** Whether new work should be refused now. */
  overloaded(): boolean {
    return this.thresholdMs > 0 && this.now() < this.overloadedUntil;
  }

  /** What `Retry-After` tells a refused client, in seconds (the header's smallest value). */
  readonly retryAfterSec = 1;

  close(): void {
    clearInterval(this.timer);
  }

  private probe(): void {
    const now = this.now();
    this.lagMs = Math.max(0, now - this.due);
    this.due = now + PROBE_MS;
    if (this.thresholdMs === 0 || this.lagMs <= this.thresholdMs) return;
    if (now >= this.overloadedUntil) this.onOverload(this.lagMs);
    this.overloadedUntil = now + HOLD_MS;
  }
}
