/**
 * What the admin namespace `/admin` and the admin REST routes answer (SPEC §6):
 * the shapes the admin UI renders.
 */
import type { TargetKind } from './notification.js';
import type { RoomKind } from './rooms.js';

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
  kind: RoomKind;
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
  /** Set when a node did not answer in time: the page lacks its share. */
  partial?: boolean;
}

export interface ActivitySample {
  /** Second (ms since the epoch, rounded down). */
  t: number;
  connections: number;
  published: number;
  delivered: number;
}

/** One published notification as the admin UI lists it: a summary, never the body or data. */
export interface RecentNotification {
  id: string;
  type: string;
  title: string;
  /** `names` holds the user ids (at most five) or the topic; `count` the number of recipients named. */
  target: { kind: TargetKind; names: string[]; count: number };
  /** The `sub` of the publisher. */
  publisher: string;
  /** Live deliveries to sockets on this node. */
  deliveries: number;
  createdAt: string;
}

/** The query of `GET /api/admin/rooms`. */
export interface RoomQuery {
  prefix?: string;
  limit: number;
  cursor?: string;
}

/** The query of `GET /api/admin/connections`. */
export interface ConnectionQuery {
  user?: string;
  room?: string;
  node?: string;
  limit: number;
  cursor?: string;
}
