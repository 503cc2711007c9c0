import { roomKind, userRoom } from '../../../protocol/rooms.js';
import type { AdminStats, ConnectionInfo, ConnectionQuery, NodeStats, Page, RoomInfo, RoomQuery } from '../../../protocol/admin.js';
import type { Activity } from './activity.js';
import type { CursorKey, HeraldNamespace, ListedConnection } from './events.js';

export function compareKeys(a: CursorKey, b: CursorKey): number {
  return a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) || a[2] - b[2];
}

const encodeCursor = (key: CursorKey): string => Buffer.from(JSON.stringify(key)).toString('base64url');

function decodeCursor(cursor: string | undefined): CursorKey | undefined {
  if (!cursor) return undefined;
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown;
    if (Array.isArray(key) && typeof key[0] === 'number' && typeof key[1] === 'string' && typeof key[2] === 'number') return key as CursorKey;
  } catch {
    // not ours: treated as no cursor below
  }
  return undefined;
}

/** Merges per-node lists (each sorted, each up to limit + 1) into one page. */
export function pageOfConnections(lists: ListedConnection[][], limit: number, partial = false): Page<ConnectionInfo> {
  const merged = lists.flat().sort((a, b) => compareKeys(a.key, b.key));
  const page = merged.slice(0, limit);
  const items = page.map(({ key: _key, ...info }) => info);
  const nextCursor = merged.length > limit ? encodeCursor(page.at(-1)!.key) : null;
  return partial ? { items, nextCursor, partial } : { items, nextCursor };
}

/** Sorts rooms largest first and cuts the page at the offset in `cursor`. */
export function pageOfRooms(all: RoomInfo[], query: RoomQuery, partial = false): Page<RoomInfo> {
  all.sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : 1));
  const offset = Number(query.cursor ?? 0) || 0;
  const items = all.slice(offset, offset + query.limit);
  const nextCursor = offset + query.limit < all.length ? String(offset + query.limit) : null;
  return partial ? { items, nextCursor, partial } : { items, nextCursor };
}

/**
 * What the admin API sees of this node: counts kept as rooms come and go (so a
 * stats tick costs the same at 50 sockets or 50,000), and paged lists.
 */
export class AdminDirectory {
  private users = 0;
  private topics = 0;
  private readonly startedAt: number;

  constructor(
    private readonly nsp: HeraldNamespace,
    private readonly nodeId: string,
    private readonly activity: Activity,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
    nsp.adapter.on('create-room', (room: string) => this.count(room, 1));
    nsp.adapter.on('delete-room', (room: string) => this.count(room, -1));
  }

  private count(room: string, delta: 1 | -1): void {
    const kind = roomKind(room);
    if (kind === 'user') this.users += delta;
    else if (kind === 'topic') this.topics += delta;
  }

  /** Users with at least one socket on this node. */
  get usersOnline(): number {
    return this.users;
  }

  nodeStats(): NodeStats {
    const memory = process.memoryUsage();
    return {
      id: this.nodeId,
      healthy: true,
      uptimeSec: Math.round((this.now() - this.startedAt) / 1000),
      connections: this.nsp.sockets.size,
      eventLoopLagMs: this.activity.eventLoopLagMs,
      memory: { rss: memory.rss, heapUsed: memory.heapUsed },
    };
  }

  /** This node's own figures, as published with each cluster heartbeat. */
  snapshot(): NodeStats & { users: number; rooms: number; topics: number; published: number; delivered: number; ratePerSec: number } {
    return {
      ...this.nodeStats(),
      users: this.users,
      rooms: this.users + this.topics,
      topics: this.topics,
      published: this.activity.published,
      delivered: this.activity.delivered,
      ratePerSec: this.activity.ratePerSec(),
    };
  }

  async stats(): Promise<AdminStats> {
    return {
      nodes: [this.nodeStats()],
      connections: this.nsp.sockets.size,
      users: this.users,
      rooms: this.users + this.topics,
      topics: this.topics,
      notifications: { published: this.activity.published, delivered: this.activity.delivered, ratePerSec: this.activity.ratePerSec() },
    };
  }

  /** Presence of one user on this node. */
  async presence(userId: string): Promise<{ online: boolean; connections: number }> {
    const connections = this.nsp.adapter.rooms.get(userRoom(userId))?.size ?? 0;
    return { online: connections > 0, connections };
  }

  /** Rooms, largest first (then by name), `cursor` being the offset of the next page. */
  async rooms(query: RoomQuery): Promise<Page<RoomInfo>> {
    return pageOfRooms(this.localRooms(query.prefix), query);
  }

  /** Every Herald room on this node (unsorted), optionally only those starting with `prefix`. */
  localRooms(prefix: string | undefined): RoomInfo[] {
    const all: RoomInfo[] = [];
    for (const [name, members] of this.nsp.adapter.rooms) {
      const kind = roomKind(name);
      if (!kind || (prefix && !name.startsWith(prefix))) continue;
      all.push({ name, kind, size: members.size });
    }
    return all;
  }

  /** Connections in connection order; `cursor` is opaque, from the previous page. */
  async connections(query: ConnectionQuery): Promise<Page<ConnectionInfo>> {
    return pageOfConnections([this.localConnections(query)], query.limit);
  }

  /**
   * Up to `limit + 1` of this node's connections matching the filters, after the
   * cursor, in (connectedAt, node, order) order: pages merge across nodes.
   */
  localConnections(query: ConnectionQuery): ListedConnection[] {
    if (query.node && query.node !== this.nodeId) return [];
    const after = decodeCursor(query.cursor);
    const rooms = this.nsp.adapter.rooms;
    const ofUser = query.user === undefined ? undefined : rooms.get(userRoom(query.user));
    const ofRoom = query.room === undefined ? undefined : rooms.get(query.room);
    if ((query.user !== undefined && !ofUser) || (query.room !== undefined && !ofRoom)) return [];
    // With a filter, walk only that room's members (the smaller set), sorted by key;
    // without one, the namespace's sockets are already in connection order.
    const filter = ofUser && ofRoom ? (ofUser.size <= ofRoom.size ? ofUser : ofRoom) : (ofUser ?? ofRoom);
    const candidates = filter
      ? [...filter]
          .map((id) => this.nsp.sockets.get(id))
          .filter((socket) => socket !== undefined)
          .sort((x, y) => x.data.connectedAt - y.data.connectedAt || x.data.n - y.data.n)
      : this.nsp.sockets.values();
    const listed: ListedConnection[] = [];
    for (const socket of candidates) {
      if ((ofUser && !ofUser.has(socket.id)) || (ofRoom && !ofRoom.has(socket.id))) continue;
      const key: CursorKey = [socket.data.connectedAt, this.nodeId, socket.data.n];
      if (after && compareKeys(key, after) <= 0) continue;
      listed.push({
        key,
        socketId: socket.id,
        userId: socket.data.principal.userId,
        rooms: [...socket.rooms].filter((room) => roomKind(room) !== undefined),
        transport: socket.conn.transport.name,
        address: socket.data.address,
        userAgent: socket.data.userAgent,
        connectedAt: new Date(socket.data.connectedAt).toISOString(),
        node: this.nodeId,
      });
      if (listed.length > query.limit) break;
    }
    return listed;
  }

  /** Disconnects one socket; false when this node does not have it. */
  async disconnectSocket(socketId: string): Promise<boolean> {
    const socket = this.nsp.sockets.get(socketId);
    if (!socket) return false;
    socket.disconnect(true);
    return true;
  }

  async disconnectUser(userId: string): Promise<number> {
    const members = this.nsp.adapter.rooms.get(userRoom(userId));
    const count = members?.size ?? 0;
    // Only this node: in a cluster, the other nodes are asked one by one (to count).
    this.nsp.local.in(userRoom(userId)).disconnectSockets(true);
    return count;
  }
}
