import { createAdapter } from '@socket.io/redis-adapter';
import type { Logger } from 'pino';
import type { Backplane } from '../backplane/backplane.js';
import type { HeraldConfig } from '../config.js';
import { StartupError } from '../errors.js';
import type { FeedService } from '../domain/feed-service.js';
import type { Activity } from '../realtime/activity.js';
import type { HeraldNamespace } from '../realtime/events.js';
import { RedisRateLimiter } from '../store/redis/rate-limiter.js';
import { RedisStore } from '../store/redis/redis-store.js';
import { ClusterDirectory } from './cluster-directory.js';
import { NodeRegistry } from './node-registry.js';
import { OutageRecovery } from './outage-recovery.js';
import { RedisPresence } from './presence-redis.js';
import { RedisConnections } from './redis-connections.js';

const PREFIX = 'herald:';

/**
 * Cluster mode (`REDIS_URL`), the Redis backplane: the Socket.IO Redis adapter
 * over ioredis, the Redis store, shared rate limits, presence and membership by
 * heartbeat. One per node.
 *
 * @example
 * const cluster = await Cluster.connect(config, log);
 * const io = new Server(http, { adapter: cluster.adapter });
 */
export class Cluster implements Backplane {
  readonly shared = true;
  readonly store: RedisStore;
  readonly rateLimiter: RedisRateLimiter;
  readonly adapter: ReturnType<typeof createAdapter>;
  private registry: NodeRegistry | undefined;
  private presenceOf: RedisPresence | undefined;
  private recovery: OutageRecovery | undefined;
  private wasDown = false;

  private constructor(
    private readonly redis: RedisConnections,
    private readonly config: HeraldConfig,
    private readonly log: Logger,
    now: () => number,
  ) {
    this.store = new RedisStore({ redis: redis.store, prefix: PREFIX, now, retentionMs: config.retention.days * 86_400_000 });
    this.rateLimiter = new RedisRateLimiter({ redis: redis.store, ratePerSec: config.apiRatePerSec, burst: config.apiRateBurst, prefix: `${PREFIX}rate:` });
    this.adapter = createAdapter(redis.pub, redis.sub, { key: 'herald', requestsTimeout: config.redisRequestsTimeoutMs });
  }

  /** Connects to Redis; start-up fails with a clear error when it cannot be reached. */
  static async connect(config: HeraldConfig, log: Logger, now: () => number = Date.now): Promise<Cluster> {
    const redis = new RedisConnections(config.redisUrl!, log.child({ component: 'redis' }));
    try {
      await redis.ready();
    } catch (err) {
      await redis.close();
      throw new StartupError(`cannot reach Redis at REDIS_URL (${(err as Error).message})`);
    }
    return new Cluster(redis, config, log, now);
  }

  /** Presence and admin views for the user namespace of this node. */
  attach(nsp: HeraldNamespace, activity: Activity, now: () => number): { presence: RedisPresence; directory: ClusterDirectory } {
    const registry: NodeRegistry = new NodeRegistry(this.redis.store, {
      nodeId: this.config.nodeId,
      heartbeatMs: this.config.nodeHeartbeatMs,
      timeoutMs: this.config.nodeTimeoutMs,
      snapshot: () => directory.snapshot(),
      // Read with each heartbeat, and noted in the seq clock that resume points are moved back by.
      currentSeq: () => this.store.tickSeqClock(),
      onDeadNode: (nodeId) => presence.forget(nodeId),
      onBeat: (ok) => this.afterBeat(ok),
      log: this.log.child({ component: 'registry' }),
      now,
      prefix: PREFIX,
    });
    const presence = new RedisPresence(this.redis.store, nsp, this.config.nodeId, () => registry.liveNodeIds(), this.log.child({ component: 'presence' }), PREFIX);
    const directory: ClusterDirectory = new ClusterDirectory(nsp, this.config.nodeId, activity, registry, presence, this.config.redisRequestsTimeoutMs, this.log.child({ component: 'cluster' }), now);
    this.registry = registry;
    this.presenceOf = presence;
    return { presence, directory };
  }

  /** Starts the heartbeat, from which outages are noticed and repaired. */
  async start(nsp: HeraldNamespace, feed: FeedService): Promise<void> {
    const recovery = new OutageRecovery(nsp, feed, this.log.child({ component: 'recovery' }), (from, to) => this.store.recordGap(from, to));
    this.redis.sub.on('close', () => recovery.subscriber(false));
    // ioredis emits `ready` before it sends the subscriptions again: a PING sent after them
    // answers once Redis has them (one connection answers in order). A PING cut off by another
    // drop is resent after the next resubscription, or fails and the next `ready` sends its own.
    this.redis.sub.on('ready', () =>
      queueMicrotask(() => void this.redis.sub.ping().then(() => recovery.subscriber(true), () => undefined)),
    );
    this.recovery = recovery;
    await this.presenceOf!.resyncIfNeeded(true);
    await this.registry!.start();
  }

  /** After an outage, presence is rewritten and the entries it may have swallowed are resent. */
  private afterBeat(ok: boolean): void {
    if (ok && this.wasDown) void this.presenceOf?.resyncIfNeeded(true).catch(() => undefined);
    this.wasDown = !ok;
    this.recovery
      ?.heartbeat(ok, this.registry?.seqCheckpoint ?? 0)
      .catch((err: unknown) => this.log.warn({ err }, 'outage recovery failed'));
  }

  /** Leaves the cluster at once (other nodes stop counting this one) and closes the connections. */
  async close(): Promise<void> {
    await this.registry?.stop();
    if (this.presenceOf) await this.presenceOf.forget(this.config.nodeId).catch(() => undefined);
    await this.redis.close();
  }
}
