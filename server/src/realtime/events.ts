/**
 * What only the server's side of the Socket.IO namespaces knows: requests between
 * cluster nodes and what each socket carries. The client-facing maps are in
 * protocol/events.ts.
 */
import type { Namespace, Socket } from 'socket.io';
import type { ConnectionInfo, ConnectionQuery, RoomInfo } from '../../../protocol/admin.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../../../protocol/events.js';
import type { Principal } from '../auth/principal.js';
import type { BucketState } from '../domain/token-bucket.js';

/** Sort key of a connection across the cluster: connected-at, node, order on that node. */
export type CursorKey = [number, string, number];
/** A connection as a node lists it to the others, with the key their pages merge by. */
export type ListedConnection = ConnectionInfo & { key: CursorKey };

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

/** The user namespace `/`. */
export type HeraldNamespace = Namespace<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** A user socket; its flood control lives in `data` as plain numbers: a token bucket and the strikes. */
export type HeraldSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData> & {
  data: SocketData & BucketState & { strikes: number };
};
