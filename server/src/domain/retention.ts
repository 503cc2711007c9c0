import type { Logger } from 'pino';
import type { NotificationStore } from './notification-store.js';
import { IDEMPOTENCY_TTL_MS } from '../../../protocol/requests.js';

const DAY_MS = 86_400_000;

export interface RetentionOptions {
  /** Entries older than this many days go. */
  days: number;
  /** Each stream keeps at most this many of its newest entries. */
  perStream: number;
  /** How often it runs, after a first run at start. */
  intervalMs: number;
}

/**
 * The retention rule (SPEC §2): what a feed keeps, applied by the store on a
 * timer (entries past the age or beyond the per-stream cap, idempotency
 * records past their window). A failed run is logged and the next one tries again.
 *
 * @example
 * const retention = new Retention(store, config.retention, log, Date.now);
 * retention.start();
 * retention.stop();
 */
export class Retention {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: NotificationStore,
    private readonly opts: RetentionOptions,
    private readonly log: Pick<Logger, 'info' | 'error'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs once now, then every `intervalMs`; the timer does not keep the process alive. */
  start(): void {
    this.timer ??= setInterval(() => void this.run(), this.opts.intervalMs);
    this.timer.unref();
    void this.run();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One run; resolves when the store is done (never rejects). */
  async run(): Promise<void> {
    const at = this.now();
    try {
      const removed = await this.store.prune(at - this.opts.days * DAY_MS, this.opts.perStream, at - IDEMPOTENCY_TTL_MS);
      if (removed.entries || removed.idempotencyKeys) this.log.info(removed, 'retention applied');
    } catch (err) {
      this.log.error({ err }, 'retention failed');
    }
  }
}
