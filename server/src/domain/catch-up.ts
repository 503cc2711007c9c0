import type { CatchUp, NotificationStore } from './notification-store.js';
import { MAX_PAGE } from '../../../protocol/requests.js';
import { ReadBatcher } from './read-batcher.js';

/**
 * What a connecting socket reads before `ready` (its topics, then its topics
 * again with its unread count and what it missed), batched: the sockets that
 * connect within one turn of the event loop share one store round, so that a
 * reconnect storm of thousands of clients is a few hundred store calls, not
 * thousands (SPEC §8). At most 50 share a call, one call per turn: each answer
 * goes on to build and send a `ready`, and 50 of those keep a turn near 50 ms.
 *
 * @example
 * const reads = new CatchUpReads(store);
 * const topics = await reads.topics('alice');
 * const { unreadCount, missed } = await reads.catchUp('alice', 4711);
 */
export class CatchUpReads {
  private readonly topicBatches: ReadBatcher<string, string[]>;
  private readonly catchUpBatches: ReadBatcher<{ userId: string; afterSeq: number | undefined; limit: number }, CatchUp>;

  /** @param onBatch told the size of each batch of catch-ups read (`herald_catch_up_batch_size`). */
  constructor(store: NotificationStore, onBatch?: (size: number) => void, maxBatch = 50) {
    this.topicBatches = new ReadBatcher((userIds) => store.subscriptionsOf(userIds), maxBatch);
    this.catchUpBatches = new ReadBatcher((requests) => store.catchUp(requests), maxBatch, onBatch);
  }

  topics(userId: string): Promise<string[]> {
    return this.topicBatches.load(userId);
  }

  /** Topics, unread count and the oldest page after `afterSeq` (none without it). */
  catchUp(userId: string, afterSeq: number | undefined): Promise<CatchUp> {
    return this.catchUpBatches.load({ userId, afterSeq, limit: MAX_PAGE });
  }
}
