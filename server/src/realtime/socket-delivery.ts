import type { Logger } from 'pino';
import type { Delivery } from '../domain/delivery.js';
import { toNotification, type NotificationRecord } from '../domain/notification.js';
import { BROADCAST_STREAM, topicRoom, userRoom } from '../../../protocol/rooms.js';
import { ReadBatcher } from '../domain/read-batcher.js';
import type { NotificationStore } from '../domain/notification-store.js';
import type { Presence } from '../domain/presence.js';
import type { HeraldNamespace } from './events.js';

/**
 * Delivery through Socket.IO rooms. A fan-out is one `to(room).emit`, so the
 * packet is encoded once whatever the number of recipients.
 */
export class SocketDelivery implements Delivery {
  private readonly unreadCounts: ReadBatcher<string, number>;

  constructor(
    private readonly nsp: HeraldNamespace,
    private readonly store: NotificationStore,
    private readonly presence: Presence,
    private readonly log: Logger,
    /** True when other nodes share the rooms (the Redis adapter): an emit must go out even if no socket here is in the room. */
    private readonly clustered = false,
  ) {
    this.unreadCounts = new ReadBatcher((ids) => store.unreadCounts(ids), 100);
  }

  deliver(record: NotificationRecord, { seq, stream }: { seq: number; stream: string }, createdAt: string): number {
    const here = stream === BROADCAST_STREAM ? this.nsp.sockets.size : (this.nsp.adapter.rooms.get(stream)?.size ?? 0);
    // Most user notifications are for users who are offline: on a single node
    // nobody can receive them, so no payload is built and no packet encoded.
    if (here === 0 && !this.clustered) return 0;
    const notification = toNotification(record, seq, stream, null, createdAt);
    if (stream === BROADCAST_STREAM) this.nsp.emit('notification', notification);
    else this.nsp.to(stream).emit('notification', notification);
    return here;
  }

  unreadChanged(userIds: readonly string[]): void {
    // Counted once, where the change happened, for the users online on any node; in batches,
    // one per turn, so that a publish to a thousand users does not hold the event loop.
    this.presence
      .online(userIds)
      .then((online) =>
        Promise.all(
          online.map(async (userId) => {
            const unreadCount = await this.unreadCounts.load(userId);
            this.nsp.to(userRoom(userId)).emit('unread', { unreadCount });
          }),
        ),
      )
      .catch((err: unknown) => this.log.warn({ err }, 'unread push failed'));
  }

  async subscriptionsChanged(userId: string, topics: readonly string[], change: { join?: string; leave?: string }): Promise<void> {
    const sockets = this.nsp.in(userRoom(userId));
    if (change.join) sockets.socketsJoin(topicRoom(change.join));
    if (change.leave) sockets.socketsLeave(topicRoom(change.leave));
    this.nsp.to(userRoom(userId)).emit('subscriptions', { topics: [...topics] });
  }
}
