/**
 * The typed event maps of Herald's Socket.IO namespaces (SPEC §5, §6), shared by
 * the server, the tests, clients and the admin UI, so that no event name or
 * payload drifts.
 */
import type { ActivitySample, AdminStats, RecentNotification } from './admin.js';
import type { ErrorCode } from './errors.js';
import type { Notification } from './notification.js';
import type { Role } from './roles.js';

export interface AckError {
  ok: false;
  error: { code: ErrorCode; message: string };
}
export type Ack<T extends object = object> = ({ ok: true } & T) | AckError;
export type AckFn<T extends object = object> = (response: Ack<T>) => void;

export interface ReadyPayload {
  userId: string;
  socketId: string;
  node: string;
  topics: string[];
  unreadCount: number;
  missed: Notification[];
  hasMore: boolean;
}

export interface ServerToClientEvents {
  ready: (payload: ReadyPayload) => void;
  notification: (notification: Notification) => void;
  unread: (payload: { unreadCount: number }) => void;
  subscriptions: (payload: { topics: string[] }) => void;
  'auth:expired': (payload: { code: 'token_expired' }) => void;
}

export interface ClientToServerEvents {
  subscribe: (payload: { topic: string }, ack: AckFn<{ topics: string[] }>) => void;
  unsubscribe: (payload: { topic: string }, ack: AckFn<{ topics: string[] }>) => void;
  sync: (payload: { afterSeq: number; limit?: number }, ack: AckFn<{ items: Notification[]; hasMore: boolean }>) => void;
  read: (payload: { ids: string[] } | { all: true }, ack: AckFn<{ unreadCount: number }>) => void;
  'auth:refresh': (payload: { token: string }, ack: AckFn<{ expiresAt: string }>) => void;
}

/** The handshake `auth` object a client sends. */
export interface HandshakeAuth {
  token?: string;
  lastSeq?: number;
}

// ---------------------------------------------------------------------------
// Admin namespace `/admin` (SPEC §6).

/** What an admin socket receives once, right after connecting. */
export interface AdminReadyPayload {
  userId: string;
  roles: readonly Role[];
  /** Whether this token may act (role `admin`), not only watch (`admin:read`). */
  canAct: boolean;
  /** The node this socket is connected to. */
  node: string;
  /** How often `stats` and `activity` follow, in milliseconds. */
  statsIntervalMs: number;
  stats: AdminStats;
  /** Per-second samples of this node, oldest first, up to ten minutes. */
  history: ActivitySample[];
  /** The latest notifications published through this node, newest first (at most 100). */
  recent: RecentNotification[];
}

export interface AdminServerToClientEvents {
  ready: (payload: AdminReadyPayload) => void;
  /** Every `ADMIN_STATS_INTERVAL_MS`: the shape of `GET /api/admin/stats`. */
  stats: (stats: AdminStats) => void;
  /** Per-second samples taken since the previous push, oldest first. */
  activity: (payload: { samples: ActivitySample[] }) => void;
  /** Notifications published since the previous push, newest first. */
  notifications: (payload: { items: RecentNotification[] }) => void;
  'auth:expired': (payload: { code: 'token_expired' }) => void;
}

/** Admin actions go through the REST API (one authorization path); the socket only listens. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface AdminClientToServerEvents {}
