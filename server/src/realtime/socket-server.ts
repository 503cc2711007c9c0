import type { Socket } from 'socket.io';
import type { Logger } from 'pino';
import type { TokenVerifier } from '../auth/token-verifier.js';
import type { FeedService } from '../domain/feed-service.js';
import type { SubscriptionService } from '../domain/subscription-service.js';
import { TokenBucket } from '../domain/token-bucket.js';
import { topicRoom, userRoom } from '../domain/topics.js';
import { HeraldError } from '../errors.js';
import { CLIENT_EVENTS, registerClientEvents } from './client-events.js';
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from './events.js';
import { socketAuth } from './socket-auth.js';
import type { Presence } from '../cluster/presence.js';
import type { HeraldNamespace } from './socket-delivery.js';
import { TokenExpiry } from './token-expiry.js';
import { toAckError } from './ack.js';

export type HeraldSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData> & {
  data: SocketData & { bucket: TokenBucket; strikes: number };
};

export interface UserSocketsOptions {
  nodeId: string;
  verifier: TokenVerifier;
  feed: FeedService;
  subscriptions: SubscriptionService;
  log: Logger;
  corsOrigins: readonly string[] | undefined;
  maxConnectionsPerUser: number;
  eventsPerSec: number;
  eventsBurst: number;
  now: () => number;
  presence: Presence;
}

/** Rejected events (rate-limited or unknown) a socket may send before it is disconnected. */
const MAX_STRIKES = 100;

/**
 * The user namespace `/`: authentication, personal and topic rooms, `ready`
 * with what was missed, the client events, flood control and token expiry.
 */
export class UserSockets {
  readonly expiry: TokenExpiry;
  /** Connection order on this node: the cursor of the admin connection list. */
  private order = 0;

  constructor(
    private readonly nsp: HeraldNamespace,
    private readonly opts: UserSocketsOptions,
  ) {
    this.expiry = new TokenExpiry((socket) => {
      socket.emit('auth:expired', { code: 'token_expired' });
      socket.disconnect(true);
    }, opts.now);
    nsp.use(socketAuth(nsp, opts));
    nsp.on('connection', (socket) => this.onConnection(socket as HeraldSocket));
  }

  close(): void {
    this.expiry.close();
  }

  private onConnection(socket: HeraldSocket): void {
    const { opts } = this;
    const principal = socket.data.principal;
    const log = opts.log.child({ socketId: socket.id, userId: principal.userId });
    const now = opts.now();
    socket.data.n = ++this.order;
    socket.data.connectedAt = now;
    socket.data.address = clientAddress(socket.handshake);
    socket.data.userAgent = (socket.handshake.headers['user-agent'] ?? '').slice(0, 256);
    socket.data.bucket = new TokenBucket(opts.eventsPerSec, opts.eventsBurst, now);
    socket.data.strikes = 0;
    // Join the personal room at once, so nothing published from here on is missed.
    socket.join(userRoom(principal.userId));
    opts.presence.changed(principal.userId, 1);
    this.expiry.watch(socket, principal.expiresAt);
    socket.use(([event, ...args], next) => {
      const ack = args.at(-1);
      const reject = (err: HeraldError) => {
        socket.data.strikes++;
        if (typeof ack === 'function') ack({ ok: false, error: toAckError(log, err) });
        if (socket.data.strikes > MAX_STRIKES) {
          log.warn({ event: String(event).slice(0, 64) }, 'disconnecting a socket that keeps sending rejected events');
          socket.disconnect(true);
        }
      };
      if (!socket.data.bucket.take(opts.now())) {
        reject(new HeraldError('rate_limited', `at most ${opts.eventsPerSec} events per second`));
      } else if (typeof event !== 'string' || !CLIENT_EVENTS.has(event)) {
        reject(new HeraldError('unknown_event', `unknown event "${String(event).slice(0, 64)}"`));
      } else {
        next();
      }
    });
    registerClientEvents(socket, { feed: opts.feed, subscriptions: opts.subscriptions, verifier: opts.verifier, expiry: this.expiry, log });
    socket.on('disconnect', () => {
      opts.presence.changed(principal.userId, -1);
      this.expiry.forget(socket);
    });
    const lastSeq = Number((socket.handshake.auth as { lastSeq?: unknown }).lastSeq);
    releaseHandshake(socket);
    void this.sendReady(socket, lastSeq, log);
  }

  private async sendReady(socket: HeraldSocket, lastSeq: number, log: Logger): Promise<void> {
    const { userId } = socket.data.principal;
    try {
      const topics = await this.opts.subscriptions.list(userId);
      if (!socket.connected) return;
      socket.join(topics.map(topicRoom));
      // A subscription removed while the list was read (on another node, say)
      // has already left the rooms of this user's sockets: leave it here too.
      const current = await this.opts.subscriptions.list(userId);
      for (const topic of topics) if (!current.includes(topic)) socket.leave(topicRoom(topic));
      const [unreadCount, missed] = await Promise.all([
        this.opts.feed.unreadCount(userId),
        Number.isSafeInteger(lastSeq) && lastSeq >= 0 ? this.opts.feed.since(userId, lastSeq) : Promise.resolve({ items: [], hasMore: false }),
      ]);
      socket.emit('ready', { userId, socketId: socket.id, node: this.opts.nodeId, topics: current, unreadCount, missed: missed.items, hasMore: missed.hasMore });
    } catch (err) {
      log.error({ err }, 'could not prepare the connection; disconnecting it');
      socket.disconnect(true);
    }
  }
}

/**
 * Lets go of the handshake once what Herald needs from it is copied into
 * `socket.data`: the HTTP request (kept by the engine for the connection's whole
 * life), its headers, the query and the token in `auth`. Socket.IO's memory guide
 * names the request as the largest per-connection saving.
 */
export function releaseHandshake(socket: Socket): void {
  (socket.conn as unknown as { request: unknown }).request = undefined;
  const handshake = socket.handshake as { headers: object; query: object; auth: object };
  handshake.headers = {};
  handshake.query = {};
  handshake.auth = {};
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
