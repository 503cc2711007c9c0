import type { NotificationStore } from './notification-store.js';
import type { Delivery } from './delivery.js';
import type { Notification } from '../../../protocol/notification.js';
import { MAX_PAGE, type FeedQueryInput, type ReadRequest } from '../../../protocol/requests.js';
import type { FeedResponse } from '../../../protocol/responses.js';


/** A user's feed: paging, catch-up after a reconnect, and read state. */
export class FeedService {
  constructor(
    private readonly store: NotificationStore,
    private readonly delivery: Delivery,
  ) {}

  /** `GET /api/me/notifications`: newest first, or oldest first after `after`. */
  async page(userId: string, query: FeedQueryInput): Promise<FeedResponse> {
    const page = await this.store.feed(userId, {
      limit: query.limit,
      unreadOnly: query.unread,
      ...(query.after !== undefined ? { after: query.after } : query.before !== undefined ? { before: query.before } : {}),
    });
    const last = page.items.at(-1);
    return {
      items: page.items,
      unreadCount: await this.store.unreadCount(userId),
      nextCursor: page.hasMore && last ? last.seq : null,
    };
  }

  /** Entries after `afterSeq`, oldest first: what `ready.missed` and `sync` return. */
  async since(userId: string, afterSeq: number, limit = MAX_PAGE): Promise<{ items: Notification[]; hasMore: boolean }> {
    return this.store.feed(userId, { after: afterSeq, limit });
  }

  unreadCount(userId: string): Promise<number> {
    return this.store.unreadCount(userId);
  }

  /** Marks read and pushes the new count to every socket of the user. */
  async markRead(userId: string, request: ReadRequest): Promise<number> {
    if ('all' in request) await this.store.markAllRead(userId);
    else await this.store.markRead(userId, request.ids);
    this.delivery.unreadChanged([userId]);
    return this.store.unreadCount(userId);
  }
}
