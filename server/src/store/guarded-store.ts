import type { Logger } from 'pino';
import { HeraldError, isHeraldError } from '../errors.js';
import type { AppendItem, AppendResult, CatchUp, CatchUpRequest, FeedPage, FeedQuery, IdempotencyRecord, NotificationStore, PruneResult } from '../domain/notification-store.js';

/**
 * Wraps a store so that its failures (Redis down, disk full) reach callers as a
 * coded 503 `unavailable` — REST answers it, socket acks carry it — while the
 * cause is logged once per outage rather than once per request.
 */
export class GuardedStore implements NotificationStore {
  private failing = false;

  constructor(
    private readonly inner: NotificationStore,
    private readonly log: Logger,
  ) {}

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      if (this.failing) this.log.info('store available again');
      this.failing = false;
      return result;
    } catch (err) {
      if (isHeraldError(err)) throw err;
      if (!this.failing) this.log.error({ err }, 'store unavailable');
      this.failing = true;
      throw new HeraldError('unavailable', 'the store is unavailable; try again shortly');
    }
  }

  append(items: readonly AppendItem[], idempotency?: IdempotencyRecord): Promise<AppendResult[]> {
    return this.guard(() => this.inner.append(items, idempotency));
  }
  getIdempotency(key: string, maxAgeMs: number): Promise<IdempotencyRecord | undefined> {
    return this.guard(() => this.inner.getIdempotency(key, maxAgeMs));
  }
  claimIdempotency(key: string, ttlMs: number): Promise<boolean> {
    return this.guard(() => this.inner.claimIdempotency(key, ttlMs));
  }
  releaseIdempotency(key: string): Promise<void> {
    return this.guard(() => this.inner.releaseIdempotency(key));
  }
  feed(userId: string, query: FeedQuery): Promise<FeedPage> {
    return this.guard(() => this.inner.feed(userId, query));
  }
  unreadCount(userId: string): Promise<number> {
    return this.guard(() => this.inner.unreadCount(userId));
  }
  unreadCounts(userIds: readonly string[]): Promise<number[]> {
    return this.guard(() => this.inner.unreadCounts(userIds));
  }
  markRead(userId: string, ids: readonly string[]): Promise<void> {
    return this.guard(() => this.inner.markRead(userId, ids));
  }
  markAllRead(userId: string): Promise<void> {
    return this.guard(() => this.inner.markAllRead(userId));
  }
  subscriptions(userId: string): Promise<string[]> {
    return this.guard(() => this.inner.subscriptions(userId));
  }
  subscriptionsOf(userIds: readonly string[]): Promise<string[][]> {
    return this.guard(() => this.inner.subscriptionsOf(userIds));
  }
  catchUp(requests: readonly CatchUpRequest[]): Promise<CatchUp[]> {
    return this.guard(() => this.inner.catchUp(requests));
  }
  subscribe(userId: string, topic: string): Promise<boolean> {
    return this.guard(() => this.inner.subscribe(userId, topic));
  }
  unsubscribe(userId: string, topic: string): Promise<boolean> {
    return this.guard(() => this.inner.unsubscribe(userId, topic));
  }
  prune(olderThan: number, perStream: number, idempotencyOlderThan: number): Promise<PruneResult> {
    return this.guard(() => this.inner.prune(olderThan, perStream, idempotencyOlderThan));
  }
  check(): Promise<void> {
    return this.inner.check();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
