import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { NodeStats } from '../../../protocol/admin.js';

/** What each node publishes about itself with every heartbeat. */
export interface NodeSnapshot extends NodeStats {
  users: number;
  rooms: number;
  topics: number;
  published: number;
  delivered: number;
  ratePerSec: number;
  /** When the heartbeat was written (ms since the epoch). */
  at: number;
}

export interface NodeRegistryOptions {
  nodeId: string;
  heartbeatMs: number;
  timeoutMs: number;
  snapshot: () => Omit<NodeSnapshot, 'at' | 'healthy'>;
  /** The deployment's current seq, read with each heartbeat. */
  currentSeq: () => Promise<number>;
  /** Called for each node found dead, once. */
  onDeadNode: (nodeId: string) => Promise<void>;
  /** Called after each heartbeat with whether Redis answered. */
  onBeat?: (ok: boolean) => void;
  log: Logger;
  now?: () => number;
  prefix?: string;
}

/**
 * Cluster membership by heartbeat: every node writes `node:<id>` (its stats,
 * expiring after `timeoutMs`) and reads everyone else's. A node whose key has
 * expired is dead: it drops out of stats and presence, and its leftovers are
 * removed. Reads are served from the last heartbeat, so an admin stats tick
 * costs no Redis round trip.
 */
export class NodeRegistry {
  private timer: NodeJS.Timeout | undefined;
  private snapshots: NodeSnapshot[] = [];
  private beating = false;
  /** The deployment's seq as of the last heartbeat that reached Redis. */
  seqCheckpoint = 0;
  /** Whether the last heartbeat reached Redis. */
  connected = false;

  constructor(
    private readonly redis: Redis,
    private readonly opts: NodeRegistryOptions,
  ) {}

  private get prefix(): string {
    return this.opts.prefix ?? 'herald:';
  }

  private get now(): number {
    return (this.opts.now ?? Date.now)();
  }

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.opts.heartbeatMs);
    this.timer.unref();
  }

  /** Live nodes as of the last heartbeat, this one first. */
  nodes(): NodeSnapshot[] {
    return this.snapshots;
  }

  liveNodeIds(): string[] {
    return this.snapshots.map((s) => s.id);
  }

  /** Stops the heartbeat and removes this node at once (a graceful leave). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.redis
      .multi()
      .del(`${this.prefix}node:${this.opts.nodeId}`)
      .srem(`${this.prefix}nodes`, this.opts.nodeId)
      .exec()
      .catch((err: unknown) => this.opts.log.warn({ err }, 'could not deregister the node'));
  }

  private async beat(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      const { prefix } = this;
      const at = this.now;
      const self: NodeSnapshot = { ...this.opts.snapshot(), healthy: true, at };
      await this.redis
        .multi()
        .set(`${prefix}node:${this.opts.nodeId}`, JSON.stringify(self), 'PX', this.opts.timeoutMs)
        .sadd(`${prefix}nodes`, this.opts.nodeId)
        .exec();
      this.seqCheckpoint = await this.opts.currentSeq();
      const ids = await this.redis.smembers(`${prefix}nodes`);
      const values = ids.length ? await this.redis.mget(ids.map((id) => `${prefix}node:${id}`)) : [];
      const live: NodeSnapshot[] = [];
      for (const [i, id] of ids.entries()) {
        const raw = values[i];
        if (!raw) {
          await this.bury(id);
          continue;
        }
        const snapshot = JSON.parse(raw) as NodeSnapshot;
        // Alive (the key has not expired) but late: shown, marked unhealthy.
        snapshot.healthy = at - snapshot.at < this.opts.heartbeatMs * 2.5;
        live.push(snapshot);
      }
      live.sort((a, b) => (a.id === this.opts.nodeId ? -1 : b.id === this.opts.nodeId ? 1 : a.id < b.id ? -1 : 1));
      this.snapshots = live;
      this.connected = true;
      this.opts.onBeat?.(true);
    } catch (err) {
      if (this.connected) this.opts.log.warn({ err: (err as Error).message }, 'heartbeat failed');
      this.connected = false;
      // Without Redis this node only knows itself.
      this.snapshots = [{ ...this.opts.snapshot(), healthy: false, at: this.now }];
      this.opts.onBeat?.(false);
    } finally {
      this.beating = false;
    }
  }

  private async bury(nodeId: string): Promise<void> {
    // SREM answers 1 to exactly one node, so one node cleans up after the dead one.
    const removed = await this.redis.srem(`${this.prefix}nodes`, nodeId);
    if (removed === 0) return;
    this.opts.log.warn({ node: nodeId }, 'node missed its heartbeats: removed from the cluster');
    await this.opts.onDeadNode(nodeId);
  }
}
