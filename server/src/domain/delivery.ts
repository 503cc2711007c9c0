import type { NotificationRecord } from './notification.js';

/**
 * What the domain needs from the real-time layer. The Socket.IO implementation
 * addresses rooms through the adapter, so the same calls reach every node in a
 * cluster.
 */
export interface Delivery {
  /**
   * Emits a stored notification, as the entry's stream sees it, to the stream's
   * room; returns the deliveries made on this node. `createdAt` is the record's
   * time as an ISO string, made once per request. The payload is built only
   * when it can reach someone.
   */
  deliver(record: NotificationRecord, entry: { seq: number; stream: string }, createdAt: string): number;
  /** Pushes fresh unread counts to the users' sockets (the counts are computed where the sockets are). */
  unreadChanged(userIds: readonly string[]): void;
  /** Pushes the user's topics and makes every socket of the user join or leave the topic room. */
  subscriptionsChanged(userId: string, topics: readonly string[], change: { join?: string; leave?: string }): Promise<void>;
}
