import type { ServerOptions } from 'socket.io';
import type { FeedService } from '../domain/feed-service.js';
import type { RateLimiter } from '../domain/token-bucket.js';
import type { Presence } from '../domain/presence.js';
import type { Activity } from '../realtime/activity.js';
import type { AdminDirectory } from '../realtime/admin-directory.js';
import type { HeraldNamespace } from '../realtime/events.js';
import type { NotificationStore } from '../domain/notification-store.js';

/**
 * What a node shares with the other nodes of its deployment, or keeps to itself
 * when it is alone: the store, the rate limits, the Socket.IO adapter, presence
 * and the admin views. One node runs on {@link LocalBackplane}; `REDIS_URL`
 * selects the Redis one (`cluster/cluster.ts`). `createHerald` wires either the
 * same way.
 */
export interface Backplane {
  readonly store: NotificationStore;
  readonly rateLimiter: RateLimiter;
  /** The Socket.IO adapter, when rooms span nodes; the in-memory one otherwise. */
  readonly adapter: ServerOptions['adapter'] | undefined;
  /** Whether other nodes may hold sockets of this node's users. */
  readonly shared: boolean;
  /** Presence and admin views for the user namespace of this node. */
  attach(nsp: HeraldNamespace, activity: Activity, now: () => number): { presence: Presence; directory: AdminDirectory };
  /** Starts what runs in the background (heartbeats, outage repair), once the node is built. */
  start(nsp: HeraldNamespace, feed: FeedService): Promise<void>;
  /** Leaves the deployment and closes its connections; the store is closed by its owner. */
  close(): Promise<void>;
}
