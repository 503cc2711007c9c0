/**
 * How many sockets each user has, across every node. One node reads its own
 * adapter rooms; a cluster adds what the other live nodes published to Redis.
 */
export interface Presence {
  /** Sockets of `userId` on every live node. */
  connections(userId: string): Promise<number>;
  /** The users among `userIds` with at least one socket anywhere. */
  online(userIds: readonly string[]): Promise<string[]>;
  /** Records a socket of `userId` arriving on (+1) or leaving (-1) this node. */
  changed(userId: string, delta: 1 | -1): void;
}
