import type { Activity } from './activity.js';
import type { HeraldNamespace } from './socket-delivery.js';

export interface NodeStats {
  id: string;
  healthy: boolean;
  uptimeSec: number;
  connections: number;
  eventLoopLagMs: number;
  memory: { rss: number; heapUsed: number };
}

export interface AdminStats {
  nodes: NodeStats[];
  connections: number;
  users: number;
  rooms: number;
  topics: number;
  notifications: { published: number; delivered: number; ratePerSec: number };
}

export interface RoomInfo {
  name: string;
  kind: 'user' | 'topic';
  size: number;
}

export interface ConnectionInfo {
  socketId: string;
  userId: string;
  rooms: string[];
  transport: string;
  address: string;
  userAgent: string;
  connectedAt: string;
  node: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface RoomQuery {
  prefix?: string;
  limit: number;
  cursor?: string;
}

export interface ConnectionQuery {
  user?: string;
  room?: string;
  node?: string;
  limit: number;
  cursor?: string;
}

const isHeraldRoom = (room: string) => room.startsWith('user:') || room.startsWith('topic:');

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
    if (room.startsWith('user:')) this.users += delta;
    else if (room.startsWith('topic:')) this.topics += delta;
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
    const connections = this.nsp.adapter.rooms.get(`user:${userId}`)?.size ?? 0;
    return { online: connections > 0, connections };
  }

  /** Rooms, largest first (then by name), `cursor` being the offset of the next page. */
  async rooms(query: RoomQuery): Promise<Page<RoomInfo>> {
    const all: RoomInfo[] = [];
    for (const [name, members] of this.nsp.adapter.rooms) {
      if (!isHeraldRoom(name) || (query.prefix && !name.startsWith(query.prefix))) continue;
      all.push({ name, kind: name.startsWith('user:') ? 'user' : 'topic', size: members.size });
    }
    all.sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : 1));
    const offset = Number(query.cursor ?? 0) || 0;
    const items = all.slice(offset, offset + query.limit);
    return { items, nextCursor: offset + query.limit < all.length ? String(offset + query.limit) : null };
  }

  /** Connections in connection order; `cursor` is the order number of the last one returned. */
  async connections(query: ConnectionQuery): Promise<Page<ConnectionInfo>> {
    if (query.node && query.node !== this.nodeId) return { items: [], nextCursor: null };
    const after = Number(query.cursor ?? 0) || 0;
    const rooms = this.nsp.adapter.rooms;
    const ofUser = query.user === undefined ? undefined : rooms.get(`user:${query.user}`);
    const ofRoom = query.room === undefined ? undefined : rooms.get(query.room);
    if ((query.user !== undefined && !ofUser) || (query.room !== undefined && !ofRoom)) return { items: [], nextCursor: null };
    const sockets = [];
    for (const socket of this.nsp.sockets.values()) {
      if (socket.data.n <= after || (ofUser && !ofUser.has(socket.id)) || (ofRoom && !ofRoom.has(socket.id))) continue;
      sockets.push(socket);
      if (sockets.length > query.limit) break;
    }
    const page = sockets.slice(0, query.limit);
    return {
      items: page.map((socket) => ({
        socketId: socket.id,
        userId: socket.data.principal.userId,
        rooms: [...socket.rooms].filter(isHeraldRoom),
        transport: socket.conn.transport.name,
        address: socket.data.address,
        userAgent: socket.data.userAgent,
        connectedAt: new Date(socket.data.connectedAt).toISOString(),
        node: this.nodeId,
      })),
      nextCursor: sockets.length > query.limit ? String(page.at(-1)!.data.n) : null,
    };
  }

  /** Disconnects one socket; false when this node does not have it. */
  async disconnectSocket(socketId: string): Promise<boolean> {
    const socket = this.nsp.sockets.get(socketId);
    if (!socket) return false;
    socket.disconnect(true);
    return true;
  }

  async disconnectUser(userId: string): Promise<number> {
    const members = this.nsp.adapter.rooms.get(`user:${userId}`);
    const count = members?.size ?? 0;
    this.nsp.in(`user:${userId}`).disconnectSockets(true);
    return count;
  }
}
