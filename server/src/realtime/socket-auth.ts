import type { Socket } from 'socket.io';
import { bearerToken, type TokenVerifier } from '../auth/token-verifier.js';
import { HeraldError, isHeraldError } from '../errors.js';
import { userRoom } from '../../../protocol/rooms.js';
import type { HeraldNamespace } from './events.js';
import type { Presence } from '../domain/presence.js';

type Next = (err?: Error) => void;

/** A `connect_error` clients can act on: `message` names the class, `data.code` the reason. */
export function connectError(message: 'unauthorized' | 'forbidden', err: HeraldError): Error & { data: unknown } {
  return Object.assign(new Error(message), { data: { code: err.code, message: err.message } });
}

/** The token of a handshake: `auth.token`, else an `Authorization: Bearer` header. */
export function handshakeToken(socket: Pick<Socket, 'handshake'>): string | undefined {
  const { auth, headers, query } = socket.handshake;
  if (query.token !== undefined || query.access_token !== undefined) {
    throw new HeraldError('token_invalid', 'tokens in the query string are refused; send auth.token or an Authorization header');
  }
  if (auth && typeof auth.token === 'string') return auth.token;
  return bearerToken(headers.authorization);
}

/**
 * Whether a browser's Origin may connect: the server's own origin always, plus
 * `CORS_ORIGINS`. A client that sends no Origin is not a browser and is let through.
 */
export function originAllowed(socket: Pick<Socket, 'handshake'>, allowed: readonly string[] | undefined): boolean {
  const origin = socket.handshake.headers.origin;
  if (origin === undefined) return true;
  if (allowed?.includes(origin) || allowed?.includes('*')) return true;
  try {
    return new URL(origin).host === socket.handshake.headers.host;
  } catch {
    return false;
  }
}

export interface SocketAuthOptions {
  verifier: TokenVerifier;
  corsOrigins: readonly string[] | undefined;
  maxConnectionsPerUser: number;
  /** Counts the user's sockets across the cluster, for the per-user cap. */
  presence?: Presence;
  /** Extra check of the principal (the admin namespace requires an admin role). */
  authorize?: (socket: Socket) => HeraldError | undefined;
}

/** The handshake middleware: Origin, then token, then the per-user connection cap. */
export function socketAuth(nsp: HeraldNamespace, opts: SocketAuthOptions) {
  return (socket: Socket, next: Next): void => {
    if (!originAllowed(socket, opts.corsOrigins)) {
      next(connectError('forbidden', new HeraldError('forbidden_origin', `origin ${socket.handshake.headers.origin} is not allowed`)));
      return;
    }
    try {
      socket.data.principal = opts.verifier.verify(handshakeToken(socket));
    } catch (err) {
      if (!isHeraldError(err)) throw err;
      next(connectError('unauthorized', err));
      return;
    }
    const denied = opts.authorize?.(socket);
    if (denied) {
      next(connectError('forbidden', denied));
      return;
    }
    const userId = socket.data.principal.userId;
    const local = nsp.adapter.rooms.get(userRoom(userId))?.size ?? 0;
    const refuse = () =>
      next(connectError('forbidden', new HeraldError('too_many_connections', `at most ${opts.maxConnectionsPerUser} connections per user`)));
    if (local >= opts.maxConnectionsPerUser) return refuse();
    if (!opts.presence) return next();
    // In a cluster the other nodes' sockets count too; if Redis cannot say, the local count decides.
    opts.presence.connections(userId).then(
      (count) => (Math.max(count, local) >= opts.maxConnectionsPerUser ? refuse() : next()),
      () => next(),
    );
  };
}
