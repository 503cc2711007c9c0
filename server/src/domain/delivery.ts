import type { Notification } from './notification.js';

/**
 * What the domain needs from the real-time layer. The Socket.IO implementation
 * addresses rooms through the adapter, so the same calls reach every node in a
 * cluster.
 */
export interface Delivery {
  /** Emits a live notification to the room of its stream; resolves the deliveries made on this node. */
  deliver(notification: Notification): number;
  /** Pushes fresh unread counts to the users' sockets (the counts are computed where the sockets are). */
  unreadChanged(userIds: readonly string[]): void;
  /** Pushes the user's topics and makes every socket of the user join or leave the topic room. */
  subscriptionsChanged(userId: string, topics: readonly string[], change: { join?: string; leave?: string }): Promise<void>;
}
