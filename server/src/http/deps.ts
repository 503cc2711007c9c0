import type { Logger } from 'pino';
import type { HeraldConfig } from '../config.js';
import type { VerifiedTokens } from '../auth/verified-tokens.js';
import type { FeedService } from '../domain/feed-service.js';
import type { NotificationService } from '../domain/notification-service.js';
import type { SubscriptionService } from '../domain/subscription-service.js';
import type { RateLimiter } from '../domain/token-bucket.js';
import type { Edge } from '../edge/edge.js';
import type { HeraldMetrics } from '../metrics.js';
import type { AdminDirectory } from '../realtime/admin-directory.js';
import type { NotificationStore } from '../domain/notification-store.js';

/** What the routes are built from; assembled by `createHerald`. */
export interface HttpDeps {
  config: HeraldConfig;
  log: Logger;
  /** The token verifier, with the tokens it has verified. */
  tokens: VerifiedTokens;
  store: NotificationStore;
  notifications: NotificationService;
  feed: FeedService;
  subscriptions: SubscriptionService;
  directory: AdminDirectory;
  metrics: HeraldMetrics;
  rateLimiter: RateLimiter;
  now: () => number;
  /** False once a drain or shutdown has begun. */
  accepting: () => boolean;
  /** Publishing asks it first: 503 while the node is overloaded. */
  edge: Pick<Edge, 'admitPublish'>;
}
