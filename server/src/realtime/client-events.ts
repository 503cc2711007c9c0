import type { Logger } from 'pino';
import type { z } from 'zod';
import type { TokenVerifier } from '../auth/token-verifier.js';
import { readRequestSchema, syncRequestSchema, type FeedService } from '../domain/feed-service.js';
import { invalidPayload } from '../domain/notification-service.js';
import { subscriptionRequestSchema } from '../domain/subscription-service.js';
import type { SubscriptionService } from '../domain/subscription-service.js';
import { HeraldError } from '../errors.js';
import { answer } from './ack.js';
import type { Ack, ClientToServerEvents } from './events.js';
import type { HeraldSocket } from './socket-server.js';
import type { TokenExpiry } from './token-expiry.js';

export interface ClientEventDeps {
  feed: FeedService;
  subscriptions: SubscriptionService;
  verifier: TokenVerifier;
  expiry: TokenExpiry;
  log: Logger;
}

export const CLIENT_EVENTS: ReadonlySet<string> = new Set<keyof ClientToServerEvents>(['subscribe', 'unsubscribe', 'sync', 'read', 'auth:refresh']);

function parse<S extends z.ZodType>(schema: S, payload: unknown): z.infer<S> {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) throw invalidPayload(parsed.error);
  return parsed.data;
}

/** Registers the handlers of the client → server events of SPEC §5. */
export function registerClientEvents(socket: HeraldSocket, deps: ClientEventDeps): void {
  const userId = () => socket.data.principal.userId;
  type AnyAck = (response: Ack<object>) => void;
  // Acks are optional for a client; a non-function in ack position is ignored.
  const on = <T extends object>(event: keyof ClientToServerEvents, handler: (payload: unknown) => Promise<T>) => {
    socket.on(event, (payload: unknown, ack: unknown) => {
      void answer(deps.log, typeof ack === 'function' ? (ack as AnyAck) : undefined, () => handler(payload));
    });
  };

  on('subscribe', async (payload) => {
    const { topic } = parse(subscriptionRequestSchema, payload);
    return { topics: await deps.subscriptions.subscribe(userId(), topic, socket.data.principal.topics) };
  });
  on('unsubscribe', async (payload) => {
    const { topic } = parse(subscriptionRequestSchema, payload);
    return { topics: await deps.subscriptions.unsubscribe(userId(), topic) };
  });
  on('sync', async (payload) => {
    const { afterSeq, limit } = parse(syncRequestSchema, payload);
    return deps.feed.since(userId(), afterSeq, limit);
  });
  on('read', async (payload) => ({ unreadCount: await deps.feed.markRead(userId(), parse(readRequestSchema, payload)) }));
  on('auth:refresh', async (payload) => {
    const token = (payload as { token?: unknown } | null)?.token;
    if (typeof token !== 'string') throw new HeraldError('invalid_payload', 'token: must be a string');
    const principal = deps.verifier.verify(token);
    if (principal.userId !== userId()) throw new HeraldError('forbidden', 'the new token must have the same sub');
    socket.data.principal = principal;
    deps.expiry.watch(socket, principal.expiresAt);
    return { expiresAt: new Date(principal.expiresAt).toISOString() };
  });
}
