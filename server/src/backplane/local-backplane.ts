import type { HeraldConfig } from '../config.js';
import { KeyedRateLimiter } from '../domain/token-bucket.js';
import { LocalPresence } from './presence-local.js';
import type { Activity } from '../realtime/activity.js';
import { AdminDirectory } from '../realtime/admin-directory.js';
import type { HeraldNamespace } from '../realtime/events.js';
import type { NotificationStore } from '../domain/notification-store.js';
import type { Backplane } from './backplane.js';

/**
 * One node on its own (the embedded default): its store (SQLite), its rate
 * limits in memory, Socket.IO's in-memory adapter, and presence and admin views
 * read from that adapter's rooms.
 *
 * @example
 * const backplane = new LocalBackplane(new SqliteStore({ dataDir }), config);
 */
export class LocalBackplane implements Backplane {
  readonly rateLimiter: KeyedRateLimiter;
  readonly adapter = undefined;
  readonly shared = false;

  constructor(
    readonly store: NotificationStore,
    private readonly config: Pick<HeraldConfig, 'nodeId' | 'apiRatePerSec' | 'apiRateBurst'>,
  ) {
    this.rateLimiter = new KeyedRateLimiter(config.apiRatePerSec, config.apiRateBurst);
  }

  attach(nsp: HeraldNamespace, activity: Activity, now: () => number): { presence: LocalPresence; directory: AdminDirectory } {
    return { presence: new LocalPresence(nsp), directory: new AdminDirectory(nsp, this.config.nodeId, activity, now) };
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {}
}
