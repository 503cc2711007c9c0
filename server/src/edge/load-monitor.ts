/** How often the event loop is probed. */
const PROBE_MS = 50;

/**
 * Whether this node's event loop is overloaded: a timer due every 50 ms
 * measures how late it fires. From a probe late by more than `thresholdMs`
 * until the next probe that is on time, the node is overloaded. After a long
 * block the probe's timer is the first callback to run (timers run before the
 * I/O that queued up meanwhile), so the handshakes and publishes waiting
 * behind the block are refused; once the loop keeps time again (at most 50 ms
 * later) they are admitted at once, so that a node busy with large fan-outs
 * refuses the work that queued behind a long turn, not the work it has time
 * for (holding the state longer left the node idle while publishers waited).
 *
 * @example
 * const load = new LoadMonitor(250);
 * if (load.overloaded()) refuse(503, load.retryAfterSec);
 * load.close();
 */
export class LoadMonitor {
  /** How late the last probe fired, in milliseconds. */
  lagMs = 0;
  private late = false;
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
    return this.late;
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
    const late = this.thresholdMs > 0 && this.lagMs > this.thresholdMs;
    if (late && !this.late) this.onOverload(this.lagMs);
    this.late = late;
  }
}
