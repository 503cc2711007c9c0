/**
 * What only the server's side of the Socket.IO namespaces knows: requests between
 * cluster nodes and what each socket carries. The client-facing maps are in
 * protocol/events.ts.
 */
import type { ConnectionQuery, RoomInfo } from '../../../protocol/admin.js';
import type { Principal } from '../auth/principal.js';
import type { ListedConnection } from './admin-directory.js';

/**
 * Requests between cluster nodes (`serverSideEmit` through the Redis adapter);
 * each node answers with its own share.
 */
export interface InterServerEvents {
  'herald:rooms': (prefix: string | null, ack: (rooms: RoomInfo[]) => void) => void;
  'herald:connections': (query: ConnectionQuery, ack: (connections: ListedConnection[]) => void) => void;
  'herald:disconnect-socket': (socketId: string, ack: (found: boolean) => void) => void;
  'herald:disconnect-user': (userId: string, ack: (count: number) => void) => void;
}

/** Kept small on purpose: one of these lives for every connection. */
export interface SocketData {
  principal: Principal;
  /** Connection order on this node, used as the admin list cursor. */
  n: number;
  connectedAt: number;
  address: string;
  userAgent: string;
}

export interface AdminSocketData {
  principal: Principal;
}
