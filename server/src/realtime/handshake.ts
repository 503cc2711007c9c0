import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Server, Socket } from 'socket.io';

/**
 * Letting go of the handshake. Each WebSocket connection's HTTP upgrade request
 * (its headers, raw headers, URL and parsed query: about 1.2 KB) is held twice for
 * the connection's whole life: by the engine socket (`conn.request`, where
 * Socket.IO builds `socket.handshake` from) and by the stand-in response engine.io
 * builds for its middlewares, which a `close` listener on the TCP socket keeps.
 * `releaseUpgradeResponses` drops the second once the upgrade is answered;
 * `releaseHandshake` drops the first, and the handshake's copies, once a socket is
 * authenticated and what Herald needs from them is copied into `socket.data`.
 * Socket.IO's memory guide names the request as the largest per-connection saving.
 *
 * @example
 * releaseUpgradeResponses(io.engine);
 * nsp.on('connection', (socket) => {
 *   socket.data.userAgent = socket.handshake.headers['user-agent'] ?? '';
 *   releaseHandshake(socket);
 * });
 */
export function releaseUpgradeResponses(engine: Pick<Server['engine'], 'use' | 'on'>): void {
  // Keyed by the request, weakly: a property on the request itself would turn its
  // properties into a dictionary, costing more than the request saves.
  const responses = new WeakMap<IncomingMessage, { req: IncomingMessage | undefined }>();
  engine.use((req: IncomingMessage, res: { req: IncomingMessage | undefined }, next: () => void) => {
    // A real ServerResponse (long-polling) ends with its request; only the upgrade's stand-in outlives it.
    if (!(res instanceof ServerResponse)) responses.set(req, res);
    next();
  });
  // Emitted for every WebSocket upgrade (a new session or one upgrading from
  // long-polling) once the middlewares are done and the response headers are
  // written: nothing reads the stand-in's request after this.
  engine.on('headers', (_headers: unknown, req: IncomingMessage) => {
    const res = responses.get(req);
    if (!res) return;
    responses.delete(req);
    res.req = undefined;
  });
}

/** What a released handshake holds instead of headers, query and auth: nothing, shared. */
const RELEASED: Readonly<Record<string, never>> = Object.freeze({});

/** Drops the request held by the engine socket and the handshake's headers, query and auth (the token). */
export function releaseHandshake(socket: Socket): void {
  (socket.conn as unknown as { request: unknown }).request = undefined;
  const handshake = socket.handshake as { headers: object; query: object; auth: object };
  handshake.headers = RELEASED;
  handshake.query = RELEASED;
  handshake.auth = RELEASED;
}

const TRUSTED_PROXY = /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|::1$|f[cd][0-9a-f]{2}:)/i;

/**
 * The client's address. Behind proxies on loopback or private networks (the
 * compose load balancer), `X-Forwarded-For` is read from the right, past those
 * proxies: the first address a trusted proxy saw. What a client writes into the
 * header itself sits further left and is never taken while a proxy appended the
 * real one; sent straight to a public address, the header is ignored.
 */
export function clientAddress(handshake: { address: string; headers: Record<string, string | string[] | undefined> }): string {
  const peer = handshake.address.replace(/^::ffff:/, '');
  const header = handshake.headers['x-forwarded-for'];
  if (!TRUSTED_PROXY.test(peer) || !header) return peer;
  const hops = (Array.isArray(header) ? header.join(',') : header)
    .split(',')
    .map((hop) => hop.trim().replace(/^::ffff:/, ''))
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) if (!TRUSTED_PROXY.test(hops[i]!)) return hops[i]!.slice(0, 64);
  return (hops[0] ?? peer).slice(0, 64);
}
