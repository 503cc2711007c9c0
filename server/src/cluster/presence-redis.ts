import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { userOfRoom } from '../../../protocol/rooms.js';
import type { Presence } from '../domain/presence.js';
import type { HeraldNamespace } from '../realtime/events.js';

/**
 * Presence in a cluster: each node keeps a Redis hash `presence:<node>` of its
 * own users' socket counts, written through as sockets come and go and rewritten
 * whole from the adapter's rooms after Redis returns (so a lost update heals).
 * A reader sums the hashes of the nodes that are alive, so a dead node stops
 * counting as soon as its heartbeat expires.
 */
export class RedisPresence implements Presence {
  private dirty = false;

  constructor(
    private readonly redis: Redis,
    private readonly nsp: HeraldNamespace,
    private readonly nodeId: string,
    private readonly liveNodes: () => readonly string[],
    private readonly log: Logger,
    private readonly prefix = 'herald:',
  ) {}

  private key(node: string): string {
    return `${this.prefix}presence:${node}`;
  }

  async connections(userId: string): Promise<number> {
    const nodes = this.nodesToRead();
    const pipeline = this.redis.pipeline();
    for (const node of nodes) pipeline.hget(this.key(node), userId);
    const results = (await pipeline.exec()) ?? [];
    return results.reduce((sum, [err, value]) => sum + (err ? 0 : Number(value ?? 0)), 0);
  }

  async online(userIds: readonly string[]): Promise<string[]> {
    if (userIds.length === 0) return [];
    const nodes = this.nodesToRead();
    const pipeline = this.redis.pipeline();
    for (const node of nodes) pipeline.hmget(this.key(node), ...userIds);
    const results = (await pipeline.exec()) ?? [];
    return userIds.filter((_, i) => results.some(([err, values]) => !err && Number((values as (string | null)[])[i] ?? 0) > 0));
  }

  changed(userId: string, delta: 1 | -1): void {
    const key = this.key(this.nodeId);
    const write = delta > 0 ? this.redis.hincrby(key, userId, 1) : this.decrement(key, userId);
    write.catch(() => {
      // Redis is down: the hash is rewritten from the rooms once it is back.
      this.dirty = true;
    });
  }

  /** Rewrites this node's hash from the adapter's rooms when an update was lost. Called by the heartbeat. */
  async resyncIfNeeded(force = false): Promise<void> {
    if (!this.dirty && !force) return;
    const counts: string[] = [];
    for (const [room, members] of this.nsp.adapter.rooms) {
      const userId = userOfRoom(room);
      if (userId !== undefined) counts.push(userId, String(members.size));
    }
    const key = this.key(this.nodeId);
    const multi = this.redis.multi().del(key);
    if (counts.length) multi.hset(key, ...counts);
    await multi.exec();
    this.dirty = false;
    this.log.info({ users: counts.length / 2 }, 'presence rewritten');
  }

  /** Removes the hash of a node found dead. */
  async forget(node: string): Promise<void> {
    await this.redis.del(this.key(node));
  }

  private nodesToRead(): readonly string[] {
    const nodes = this.liveNodes();
    return nodes.includes(this.nodeId) ? nodes : [...nodes, this.nodeId];
  }

  private decrement(key: string, userId: string): Promise<unknown> {
    // HINCRBY then HDEL at zero, atomically, so the hash holds online users only.
    return this.redis.eval(
      "local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1) if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end return n",
      1,
      key,
      userId,
    );
  }
}
