import type { TokenVerifier } from '../auth/token-verifier.js';
import type { FeedService } from '../domain/feed-service.js';
import { readRequestSchema, subscriptionRequestSchema, syncRequestSchema } from '../../../protocol/requests.js';
import type { SubscriptionService } from '../domain/subscription-service.js';
import { HeraldError, validated } from '../errors.js';
import type { ClientToServerEvents } from '../../../protocol/events.js';
import type { HeraldSocket } from './events.js';
import type { TokenExpiry } from './token-expiry.js';

export interface ClientEventDeps {
  feed: FeedService;
  subscriptions: SubscriptionService;
  verifier: TokenVerifier;
  expiry: TokenExpiry;
}

/** Answers one client event of `socket`: the acknowledgement's fields, or a thrown HeraldError. */
export type ClientEventHandler = (socket: HeraldSocket, payload: unknown) => Promise<object>;

/**
 * The handlers of the client → server events of SPEC §5, keyed by event name.
 * Built once per namespace and shared by every socket, which each handler is
 * given: closures per socket and event would cost about 1 KB per connection.
 *
 * @example
 * const handlers = clientEventHandlers({ feed, subscriptions, verifier, expiry });
 * const reply = await handlers.get('sync')?.(socket, { afterSeq: 0 });
 */
export function clientEventHandlers(deps: ClientEventDeps): ReadonlyMap<string, ClientEventHandler> {
  const handlers: Record<keyof ClientToServerEvents, ClientEventHandler> = {
    async subscribe(socket, payload) {
      const { topic } = validated(subscriptionRequestSchema, payload);
      const { principal } = socket.data;
      return { topics: await deps.subscriptions.subscribe(principal.userId, topic, principal.topics) };
    },
    async unsubscribe(socket, payload) {
      const { topic } = validated(subscriptionRequestSchema, payload);
      return { topics: await deps.subscriptions.unsubscribe(socket.data.principal.userId, topic) };
    },
    async sync(socket, payload) {
      const { afterSeq, limit } = validated(syncRequestSchema, payload);
      return deps.feed.since(socket.data.principal.userId, afterSeq, limit);
    },
    async read(socket, payload) {
      return { unreadCount: await deps.feed.markRead(socket.data.principal.userId, validated(readRequestSchema, payload)) };
    },
    async 'auth:refresh'(socket, payload) {
      const token = (payload as { token?: unknown } | null)?.token;
      if (typeof token !== 'string') throw new HeraldError('invalid_payload', 'token: must be a string');
      const principal = deps.verifier.verify(token);
      if (principal.userId !== socket.data.principal.userId) throw new HeraldError('forbidden', 'the new token must have the same sub');
      socket.data.principal = principal;
      deps.expiry.watch(socket, principal.expiresAt);
      return { expiresAt: new Date(principal.expiresAt).toISOString() };
    },
  };
  // A Map, so that an event named `__proto__` or `toString` finds nothing.
  return new Map(Object.entries(handlers));
}
