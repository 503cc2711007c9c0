/**
 * EXPERIMENT: `POST /api/notifications` and `POST /api/notifications/batch`
 * served by a plain `node:http` handler instead of Express + body-parser +
 * passport, calling Herald's own NotificationService. What the "lean publish
 * path" recommendation measures (see bench/RESULTS.md).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { canPublish, type Principal } from '../../server/src/auth/principal.js';
import type { TokenVerifier } from '../../server/src/auth/token-verifier.js';
import type { Notification } from '../../server/src/domain/notification.js';
import type { NotificationService } from '../../server/src/domain/notification-service.js';
import { HeraldError, isHeraldError } from '../../server/src/errors.js';
import type { LocalPresence } from '../../server/src/cluster/presence.js';
import { SocketDelivery, type HeraldNamespace } from '../../server/src/realtime/socket-delivery.js';
import type { NotificationStore } from '../../server/src/store/store.js';
import type { Logger } from 'pino';

export interface LeanOptions {
  verifier: TokenVerifier;
  service: () => NotificationService;
  /** Keep verified tokens (token → principal, until `exp`). */
  cacheTokens: boolean;
  maxBodyBytes: number;
}

/** Delivery that does not encode a packet for a room nobody on this node is in (single node only). */
export class SkipEmptyDelivery extends SocketDelivery {
  constructor(
    private readonly namespace: HeraldNamespace,
    store: NotificationStore,
    presence: LocalPresence,
    log: Logger,
  ) {
    super(namespace, store, presence, log);
  }

  override deliver(notification: Notification): number {
    if (notification.stream !== 'broadcast' && !this.namespace.adapter.rooms.has(notification.stream)) return 0;
    return super.deliver(notification);
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Returns a request handler that answers the two publish routes and returns false for anything else. */
export function leanPublish(opts: LeanOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const tokens = new Map<string, Principal>();
  const authenticate = (header: string | undefined): Principal => {
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    if (!opts.cacheTokens || token === undefined) return opts.verifier.verify(token);
    const known = tokens.get(token);
    if (known && known.expiresAt > Date.now()) return known;
    const principal = opts.verifier.verify(token);
    if (tokens.size >= 10_000) tokens.clear();
    tokens.set(token, principal);
    return principal;
  };
  const publish = async (req: IncomingMessage, raw: Buffer) => {
    const principal = authenticate(req.headers.authorization);
    if (!canPublish(principal)) throw new HeraldError('forbidden', 'this route requires the publisher or admin role');
    let body: unknown;
    try {
      body = JSON.parse(raw.toString());
    } catch {
      throw new HeraldError('malformed_json', 'the body is not JSON');
    }
    const key = req.headers['idempotency-key'];
    const idempotency = { key: typeof key === 'string' ? key : undefined, rawBody: raw };
    return req.url === '/api/notifications/batch'
      ? opts.service().publishBatch(principal.userId, body, idempotency)
      : opts.service().publish(principal.userId, body, idempotency);
  };
  return (req, res) => {
    if (req.method !== 'POST' || (req.url !== '/api/notifications' && req.url !== '/api/notifications/batch')) return false;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= opts.maxBodyBytes) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > opts.maxBodyBytes) {
        reply(res, 413, { error: { code: 'payload_too_large', message: 'the body is too large' } });
        return;
      }
      publish(req, Buffer.concat(chunks)).then(
        (r) => reply(res, r.status, r.body),
        (err: unknown) => {
          if (!isHeraldError(err)) throw err;
          reply(res, err.status, { error: err.toBody() });
        },
      );
    });
    return true;
  };
}
