import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { TokenBucket } from '../domain/token-bucket.js';

/** Why a new handshake was refused; the label of `herald_handshakes_refused_total`. */
export type RefusalReason = 'rate' | 'overload' | 'draining';

export interface AdmissionOptions {
  /** New handshakes per second, bursts of twice that; 0 admits all at once (MAX_HANDSHAKES_PER_SEC). */
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
type EngineResponse = ServerResponse | { socket?: Duplex };
type EngineMiddleware = (req: EngineRequest, res: EngineResponse, next: (err?: Error) => void) => void;

interface Waiting {
  res: EngineResponse;
  next: () => void;
  /** When it is refused if no slot has come up (ms since the epoch). */
  until: number;
}

/** How long a handshake past the rate waits for a slot before it is refused. */
const MAX_WAIT_MS = 10_000;
/** Handshakes let through in one turn of the event loop at most: the rest wait for the next turns. */
const PER_TURN = 25;
/** How often the waiting handshakes are looked at. */
const TICK_MS = 10;

const MESSAGES: Record<RefusalReason, string> = {
  rate: 'too many new connections to this node right now; retry shortly',
  overload: 'this node is overloaded; retry shortly',
  draining: 'this node is shutting down; connect to another one',
};

/**
 * Admission of new connections (SPEC §8): an Engine.IO middleware, so it runs
 * before the Engine.IO handshake and so before any Socket.IO, JWT or store work.
 * A request without `sid` starts a session. While draining, or while the event
 * loop lags past OVERLOAD_LAG_MS, it is answered `503` with `Retry-After` at
 * once (socket.io-client then tries again with its own backoff). Past the
 * handshake rate it waits, in order, for a slot of the token bucket: at most
 * ten seconds' worth of handshakes wait (10,000 at the default rate), each at
 * most ten seconds, within socket.io-client's 20 s connect timeout; those
 * beyond are refused the same way. Waiting smooths a reconnect storm into the
 * rate the node can serve without sending every client into a longer backoff
 * (in a storm of 10,000, refusing all but two seconds' worth took the last
 * client 40 s to get back instead of 17-25 s, bench/RESULTS.md);
 * and at most 25 handshakes go on per turn of the event loop, so that a storm
 * arriving in one instant does not hold the loop (and `/healthz`) for seconds.
 * Requests of established sessions pass untouched: sockets are never dropped
 * for load.
 *
 * Engine.IO's `allowRequest` sees the same requests, but a refusal there can
 * only be a 403 (long-polling) or a 400 (WebSocket); the middleware answers 503.
 *
 * @example
 * const admission = new Admission({ handshakesPerSec: 1000, load, draining: () => false, refused: (r) => count(r) });
 * io.engine.use(admission.middleware);
 */
export class Admission {
  readonly middleware: EngineMiddleware;
  private readonly bucket: TokenBucket | undefined;
  private readonly maxWaiting: number;
  private readonly now: () => number;
  private waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;
  private admittedThisTurn = 0;
  private turnScheduled = false;

  constructor(private readonly opts: AdmissionOptions) {
    this.now = opts.now ?? Date.now;
    this.bucket = opts.handshakesPerSec > 0 ? new TokenBucket(opts.handshakesPerSec, opts.handshakesPerSec * 2, this.now()) : undefined;
    this.maxWaiting = Math.ceil((opts.handshakesPerSec * MAX_WAIT_MS) / 1000);
    this.middleware = (req, res, next) => {
      if (req._query?.sid !== undefined) return next();
      if (opts.draining()) return this.refuse(res, 'draining');
      if (opts.load.overloaded()) return this.refuse(res, 'overload', opts.load.retryAfterSec);
      if (!this.bucket) return next();
      if (this.waiting.length === 0 && this.slot()) return next();
      if (this.waiting.length >= this.maxWaiting) return this.refuse(res, 'rate', this.retryAfter());
      this.waiting.push({ res, next: () => next(), until: this.now() + MAX_WAIT_MS });
      this.timer ??= setInterval(() => this.release(), TICK_MS);
    };
  }

  /** Handshakes waiting for a slot now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Refuses every waiting handshake (a drain begins, or the node closes). */
  refuseWaiting(reason: RefusalReason): void {
    for (const w of this.waiting.splice(0)) this.refuse(w.res, reason);
    this.stopTimer();
  }

  /** A slot now: a token of the bucket, within this turn's share. */
  private slot(): boolean {
    if (this.admittedThisTurn >= PER_TURN || !this.bucket!.take(this.now())) return false;
    this.admittedThisTurn++;
    if (!this.turnScheduled) {
      this.turnScheduled = true;
      setImmediate(() => {
        this.turnScheduled = false;
        this.admittedThisTurn = 0;
      });
    }
    return true;
  }

  private release(): void {
    const now = this.now();
    const overloaded = this.opts.load.overloaded();
    let kept = 0;
    for (const w of this.waiting) {
      if (closed(w.res)) continue;
      if (now >= w.until) this.refuse(w.res, overloaded ? 'overload' : 'rate', this.retryAfter());
      else if (!overloaded && this.slot()) w.next();
      else this.waiting[kept++] = w;
    }
    this.waiting.length = kept;
    if (kept === 0) this.stopTimer();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private retryAfter(): number {
    return Math.max(1, this.bucket?.retryAfter(this.now()) ?? 1);
  }

  private refuse(res: EngineResponse, reason: RefusalReason, retryAfterSec = 1): void {
    this.opts.refused(reason);
    answer503(res, reason, Math.max(1, Math.ceil(retryAfterSec)));
  }
}

/** Whether the client of a waiting handshake has gone away. */
function closed(res: EngineResponse): boolean {
  return !res.socket || res.socket.destroyed;
}

/** Answers 503 on a long-polling response, or writes it on the raw socket of a WebSocket upgrade. */
function answer503(res: EngineResponse, reason: RefusalReason, retryAfterSec: number): void {
  const body = JSON.stringify({ error: { code: 'unavailable', message: MESSAGES[reason] } });
  const headers = {
    'Retry-After': String(retryAfterSec),
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    Connection: 'close',
  };
  if (res instanceof ServerResponse) {
    if (res.headersSent || res.destroyed) return;
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
