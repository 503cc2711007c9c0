import type { Logger } from 'pino';
import type { TokenVerifier } from '../auth/token-verifier.js';
import type { CatchUpReads } from '../domain/catch-up.js';
import type { FeedService } from '../domain/feed-service.js';
import type { SubscriptionService } from '../domain/subscription-service.js';
import { takeToken } from '../domain/token-bucket.js';
import { topicRoom, userRoom } from '../../../protocol/rooms.js';
import { HeraldError } from '../errors.js';
import { clientEventHandlers, type ClientEventHandler } from './client-events.js';
import type { HeraldNamespace, HeraldSocket } from './events.js';
import type { Ack } from '../../../protocol/events.js';
import { clientAddress, releaseHandshake } from './handshake.js';
import { socketAuth } from './socket-auth.js';
import type { Presence } from '../domain/presence.js';
import { TokenExpiry } from './token-expiry.js';
import { answer, toAckError } from './ack.js';

export interface UserSocketsOptions {
  nodeId: string;
  verifier: TokenVerifier;
  feed: FeedService;
  subscriptions: SubscriptionService;
  /** The reads before `ready`, batched across the sockets connecting at the same moment. */
  catchUp: CatchUpReads;
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

type AnyAck = (response: Ack<object>) => void;

/**
 * The user namespace `/`: authentication, personal and topic rooms, `ready`
 * with what was missed, the client events, flood control and token expiry.
 *
 * Thousands of sockets sit idle here, so a socket holds only data: its two
 * listeners are functions shared by every socket (Socket.IO calls a listener
 * with the socket as `this`), and its logger is built only when something about
 * it is logged.
 */
export class UserSockets {
  readonly expiry: TokenExpiry;
  /** Connection order on this node: the cursor of the admin connection list. */
  private order = 0;
  private readonly handlers: ReadonlyMap<string, ClientEventHandler>;
  /** The `onAny` listener of every socket: all the events a client sends pass through `onClientEvent`. */
  private readonly anyEvent: (this: HeraldSocket, ...args: unknown[]) => void;
  /** The `disconnect` listener of every socket. */
  private readonly disconnected: (this: HeraldSocket) => void;

  constructor(
    private readonly nsp: HeraldNamespace,
    private readonly opts: UserSocketsOptions,
  ) {
    this.expiry = new TokenExpiry((socket) => {
      socket.emit('auth:expired', { code: 'token_expired' });
      socket.disconnect(true);
    }, opts.now);
    this.handlers = clientEventHandlers({ feed: opts.feed, subscriptions: opts.subscriptions, verifier: opts.verifier, expiry: this.expiry });
    const onClientEvent = (socket: HeraldSocket, args: unknown[]) => this.onClientEvent(socket, args);
    const onDisconnect = (socket: HeraldSocket) => this.onDisconnect(socket);
    this.anyEvent = function (this: HeraldSocket, ...args: unknown[]) {
      onClientEvent(this, args);
    };
    this.disconnected = function (this: HeraldSocket) {
      onDisconnect(this);
    };
    nsp.use(socketAuth(nsp, opts));
    nsp.on('connection', (socket) => this.onConnection(socket as HeraldSocket));
  }

  close(): void {
    this.expiry.close();
  }

  private onConnection(socket: HeraldSocket): void {
    const { opts } = this;
    const { data } = socket;
    const now = opts.now();
    data.n = ++this.order;
    data.connectedAt = now;
    data.address = clientAddress(socket.handshake);
    data.userAgent = (socket.handshake.headers['user-agent'] ?? '').slice(0, 256);
    data.tokens = opts.eventsBurst;
    data.refilledAt = now;
    data.strikes = 0;
    const { userId, expiresAt } = data.principal;
    // Join the personal room at once, so nothing published from here on is missed.
    socket.join(userRoom(userId));
    opts.presence.changed(userId, 1);
    this.expiry.watch(socket, expiresAt);
    // One catch-all listener instead of a middleware and a listener per event:
    // it sees every event first (with the acknowledgement last, as `socket.use` did)
    // and answers it; no per-event listener is registered, so nothing else runs.
    socket.onAny(this.anyEvent);
    socket.on('disconnect', this.disconnected);
    const lastSeq = Number((socket.handshake.auth as { lastSeq?: unknown }).lastSeq);
    releaseHandshake(socket);
    void this.sendReady(socket, lastSeq);
  }

  /** Flood control, then the handler of a known event; anything else is rejected and counted. */
  private onClientEvent(socket: HeraldSocket, args: unknown[]): void {
    const [event, payload, ack] = args;
    if (!takeToken(socket.data, this.opts.eventsPerSec, this.opts.eventsBurst, this.opts.now())) {
      this.reject(socket, args, new HeraldError('rate_limited', `at most ${this.opts.eventsPerSec} events per second`));
      return;
    }
    const handler = typeof event === 'string' ? this.handlers.get(event) : undefined;
    if (!handler) {
      this.reject(socket, args, new HeraldError('unknown_event', `unknown event "${String(event).slice(0, 64)}"`));
      return;
    }
    // Acks are optional for a client; a non-function in ack position is ignored.
    void answer(() => this.socketLog(socket), typeof ack === 'function' ? (ack as AnyAck) : undefined, () => handler(socket, payload));
  }

  private reject(socket: HeraldSocket, args: unknown[], err: HeraldError): void {
    const ack = args.at(-1);
    socket.data.strikes++;
    if (typeof ack === 'function') (ack as AnyAck)({ ok: false, error: toAckError(() => this.socketLog(socket), err) });
    if (socket.data.strikes > MAX_STRIKES) {
      this.socketLog(socket).warn({ event: String(args[0]).slice(0, 64) }, 'disconnecting a socket that keeps sending rejected events');
      socket.disconnect(true);
    }
  }

  private onDisconnect(socket: HeraldSocket): void {
    this.opts.presence.changed(socket.data.principal.userId, -1);
    this.expiry.forget(socket);
  }

  /** A child logger naming the socket and its user, built when something is logged rather than kept per socket. */
  private socketLog(socket: HeraldSocket): Logger {
    return this.opts.log.child({ socketId: socket.id, userId: socket.data.principal.userId });
  }

  private async sendReady(socket: HeraldSocket, lastSeq: number): Promise<void> {
    const { userId } = socket.data.principal;
    try {
      const topics = await this.opts.catchUp.topics(userId);
      if (!socket.connected) return;
      socket.join(topics.map(topicRoom));
      // A subscription removed while the list was read (on another node, say)
      // has already left the rooms of this user's sockets: leave it here too.
      // The second read also brings the unread count and what was missed.
      const afterSeq = Number.isSafeInteger(lastSeq) && lastSeq >= 0 ? lastSeq : undefined;
      const { topics: current, unreadCount, missed } = await this.opts.catchUp.catchUp(userId, afterSeq);
      if (!socket.connected) return;
      for (const topic of topics) if (!current.includes(topic)) socket.leave(topicRoom(topic));
      socket.emit('ready', { userId, socketId: socket.id, node: this.opts.nodeId, topics: current, unreadCount, missed: missed.items, hasMore: missed.hasMore });
    } catch (err) {
      this.socketLog(socket).error({ err }, 'could not prepare the connection; closing its transport');
      // Not `disconnect(true)`: that tells socket.io-client to stop. A transport close makes it
      // try again with its backoff, which is what a store that failed for a moment needs.
      socket.conn.close();
    }
  }
}
