import type { Logger } from 'pino';
import type { Activity } from '../realtime/activity.js';
import { AdminDirectory, pageOfConnections, pageOfRooms } from '../realtime/admin-directory.js';
import type { AdminStats, ConnectionInfo, ConnectionQuery, Page, RoomInfo, RoomQuery } from '../../../protocol/admin.js';
import type { HeraldNamespace, InterServerEvents } from '../realtime/events.js';
import type { NodeRegistry } from './node-registry.js';
import type { Presence } from '../domain/presence.js';

type Ask = keyof InterServerEvents;
type Answer<E extends Ask> = Parameters<Parameters<InterServerEvents[E]>[1]>[0];

/**
 * The admin views of a cluster: totals from the nodes' heartbeats (no Redis
 * round trip per stats tick), presence from Redis, and lists and actions asked of
 * every node through the adapter. A node that does not answer within the
 * adapter's `requestsTimeout` leaves the answer `partial` rather than hanging it.
 */
export class ClusterDirectory extends AdminDirectory {
  constructor(
    private readonly cluster: HeraldNamespace,
    nodeId: string,
    activity: Activity,
    private readonly registry: NodeRegistry,
    private readonly livePresence: Presence,
    private readonly requestsTimeoutMs: number,
    private readonly log: Logger,
    now: () => number = Date.now,
  ) {
    super(cluster, nodeId, activity, now);
    cluster.on('herald:rooms', (prefix, ack) => ack(this.localRooms(prefix ?? undefined)));
    cluster.on('herald:connections', (query, ack) => ack(this.localConnections(query)));
    cluster.on('herald:disconnect-socket', (socketId, ack) => void super.disconnectSocket(socketId).then(ack));
    cluster.on('herald:disconnect-user', (userId, ack) => void super.disconnectUser(userId).then(ack));
  }

  override async stats(): Promise<AdminStats> {
    const nodes = this.registry.nodes();
    const sum = (pick: (n: (typeof nodes)[number]) => number) => nodes.reduce((total, n) => total + pick(n), 0);
    return {
      nodes: nodes.map(({ id, healthy, uptimeSec, connections, eventLoopLagMs, memory }) => ({ id, healthy, uptimeSec, connections, eventLoopLagMs, memory })),
      connections: sum((n) => n.connections),
      users: sum((n) => n.users),
      rooms: sum((n) => n.rooms),
      topics: sum((n) => n.topics),
      notifications: {
        published: sum((n) => n.published),
        delivered: sum((n) => n.delivered),
        ratePerSec: Math.round(sum((n) => n.ratePerSec) * 10) / 10,
      },
    };
  }

  override async presence(userId: string): Promise<{ online: boolean; connections: number }> {
    const connections = await this.livePresence.connections(userId);
    return { online: connections > 0, connections };
  }

  override async rooms(query: RoomQuery): Promise<Page<RoomInfo>> {
    const { answers, partial } = await this.ask('herald:rooms', query.prefix ?? null);
    const merged = new Map<string, RoomInfo>();
    for (const room of [this.localRooms(query.prefix), ...answers].flat()) {
      const seen = merged.get(room.name);
      if (seen) seen.size += room.size;
      else merged.set(room.name, { ...room });
    }
    return pageOfRooms([...merged.values()], query, partial);
  }

  override async connections(query: ConnectionQuery): Promise<Page<ConnectionInfo>> {
    const { answers, partial } = await this.ask('herald:connections', query);
    return pageOfConnections([this.localConnections(query), ...answers], query.limit, partial);
  }

  override async disconnectSocket(socketId: string): Promise<boolean> {
    if (await super.disconnectSocket(socketId)) return true;
    const { answers } = await this.ask('herald:disconnect-socket', socketId);
    return answers.some(Boolean);
  }

  override async disconnectUser(userId: string): Promise<number> {
    const local = await super.disconnectUser(userId);
    const { answers } = await this.ask('herald:disconnect-user', userId);
    return answers.reduce((sum, n) => sum + n, local);
  }

  /** Asks every other node; resolves with what came back in time, never hangs. */
  private ask<E extends Ask>(event: E, arg: Parameters<InterServerEvents[E]>[0]): Promise<{ answers: Answer<E>[]; partial: boolean }> {
    return new Promise((resolve) => {
      // The adapter swallows a failure to count the nodes (Redis down) without
      // calling back; this guard answers for it.
      const guard = setTimeout(() => {
        this.log.warn({ event }, 'cluster request got no answer');
        resolve({ answers: [], partial: true });
      }, this.requestsTimeoutMs + 500);
      const emit = this.cluster.serverSideEmit as (ev: string, arg: unknown, cb: (err: Error | null, answers: Answer<E>[]) => void) => boolean;
      emit.call(this.cluster, event, arg, (err, answers) => {
        clearTimeout(guard);
        if (err) this.log.warn({ event, err: err.message }, 'cluster request partly answered');
        resolve({ answers: answers ?? [], partial: Boolean(err) });
      });
    });
  }
}
