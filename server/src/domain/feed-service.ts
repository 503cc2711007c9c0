import { z } from 'zod';
import type { NotificationStore } from './notification-store.js';
import type { Delivery } from './delivery.js';
import type { Notification } from '../../../protocol/notification.js';

export const MAX_PAGE = 100;
/** A `seq` in a query string: digits only (an empty or blank value is an error, not 0). */
const seqQuerySchema = z
  .string()
  .regex(/^\d{1,16}$/, 'must be a non-negative integer')
  .transform(Number)
  .meta({ type: 'integer', minimum: 0, description: 'a seq from an earlier answer' });
const seqSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const feedQuerySchema = z.object({
  before: seqQuerySchema.optional(),
  after: seqQuerySchema.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(50),
  unread: z.enum(['true', 'false']).optional().transform((v) => v === 'true'),
});
export type FeedQueryInput = z.infer<typeof feedQuerySchema>;

export const readRequestSchema = z.union([
  z.strictObject({ ids: z.array(z.string().min(1).max(64)).min(1).max(1000) }),
  z.strictObject({ all: z.literal(true) }),
]);
export type ReadRequest = z.infer<typeof readRequestSchema>;

export const syncRequestSchema = z.strictObject({
  afterSeq: seqSchema,
  limit: z.number().int().min(1).max(MAX_PAGE).optional(),
});

export interface FeedResponse {
  items: Notification[];
  unreadCount: number;
  nextCursor: number | null;
}

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
