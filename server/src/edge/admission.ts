import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { TokenBucket } from '../domain/token-bucket.js';

/** Why a new handshake was refused; the label of `herald_handshakes_refused_total`. */
export type RefusalReason = 'rate' | 'overload' | 'draining';

export interface AdmissionOptions {
  /** New handshakes per second, bursts of twice that; 0 admits all (MAX_HANDSHAKES_PER_SEC). */
  handshakesPerSec: number;
  /** Whether the event loop lags past OVERLOAD_LAG_MS now, and what Retry-After to answer then. */
  load: { overloaded(): boolean; readonly retryAfterSec: number };
  /** True once the node drains (SIGTERM): every new handshake is refused. */
  draining: () => boolean;
  /** Called for each refusal (metrics, the warn log). */
  refused: (reason: RefusalReason) => void;
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
}

/** The parts of an Engine.IO request this reads: `prepare` has parsed the query before any middleware runs. */
type EngineRequest = IncomingMessage & { _query?: Record<string, string | undefined> };
type EngineMiddleware = (req: EngineRequest, res: ServerResponse | { socket?: Duplex }, next: (err?: Error) => void) => void;

const MESSAGES: Record<RefusalReason, string> = {
  rate: 'too many new connections to this node right now; retry shortly',
  overload: 'this node is overloaded; retry shortly',
  draining: 'this node is shutting down; connect to another one',
};

/**
 * Admission of new connections (SPEC §8): an Engine.IO middleware, so it runs
 * before the Engine.IO handshake and so before any Socket.IO, JWT or store work.
 * A request without `sid` starts a session; past the handshake rate, while the
 * event loop lags, or while draining, it is answered `503` with `Retry-After`
 * (socket.io-client then tries again with its own backoff). Requests of
 * established sessions pass untouched: sockets are never dropped for load.
 *
 * Engine.IO's `allowRequest` sees the same requests, but a refusal there can
 * only be a 403 (long-polling) or a 400 (WebSocket); the middleware answers 503.
 *
 * @example
 * io.engine.use(admission({ handshakesPerSec: 1000, load, draining: () => false, refused: (r) => count(r) }));
 */
export function admission(opts: AdmissionOptions): EngineMiddleware {
  const now = opts.now ?? Date.now;
  const bucket = opts.handshakesPerSec > 0 ? new TokenBucket(opts.handshakesPerSec, opts.handshakesPerSec * 2, now()) : undefined;
  return (req, res, next) => {
    if (req._query?.sid !== undefined) return next();
    let reason: RefusalReason | undefined;
    let retryAfter = 1;
    if (opts.draining()) reason = 'draining';
    else if (opts.load.overloaded()) {
      reason = 'overload';
      retryAfter = opts.load.retryAfterSec;
    } else if (bucket && !bucket.take(now())) {
      reason = 'rate';
      retryAfter = bucket.retryAfter(now());
    }
    if (!reason) return next();
    opts.refused(reason);
    refuse(res, reason, Math.max(1, Math.ceil(retryAfter)));
  };
}

/** Answers 503 on a long-polling response, or writes it on the raw socket of a WebSocket upgrade. */
function refuse(res: ServerResponse | { socket?: Duplex }, reason: RefusalReason, retryAfterSec: number): void {
  const body = JSON.stringify({ error: { code: 'unavailable', message: MESSAGES[reason] } });
  const headers = {
    'Retry-After': String(retryAfterSec),
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    Connection: 'close',
  };
  if (res instanceof ServerResponse) {
    res.writeHead(503, headers);
    res.end(body);
    return;
  }
  // An upgrade: engine.io's stand-in response writes nothing, so the answer goes on the socket itself.
  const socket = res.socket;
  // The upgrade's socket is no longer the HTTP server's: without a listener, a reset by the client would throw.
  socket?.on('error', () => {});
  if (!socket?.writable) {
    socket?.destroy();
    return;
  }
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(`HTTP/1.1 503 Service Unavailable\r\n${head}\r\n${body}`);
}
