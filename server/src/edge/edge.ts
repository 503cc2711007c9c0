import type { Logger } from 'pino';
import type { Server } from 'socket.io';
import type { HeraldConfig } from '../config.js';
import { HeraldError } from '../errors.js';
import { Admission, type RefusalReason } from './admission.js';
import { closeInBatches } from './drain.js';
import { LoadMonitor } from './load-monitor.js';
import { OutputGuard, type EngineSocket } from './output-guard.js';

/** What the edge counts, in `/metrics` (HeraldMetrics implements it). */
export interface EdgeCounters {
  handshakeRefused(reason: RefusalReason): void;
  slowConsumerClosed(): void;
  publishRefused(reason: 'overload'): void;
  overloaded(): void;
}

/** How often a run of refused handshakes is logged at most. */
const REFUSAL_LOG_MS = 1000;

/**
 * The edge of one node under pressure (SPEC §8): admission of new handshakes
 * (rate, overload, drain), the cap on each connection's unsent output, the
 * overload state publishing consults, and the drain on SIGTERM. Installed on
 * the Engine.IO server once Socket.IO is attached, so it sees every namespace's
 * connections.
 *
 * @example
 * const edge = new Edge(config.edge, metrics, log);
 * io.attach(http);
 * edge.install(io);      // the engine's first middleware
 * edge.admitPublish();   // throws 503 unavailable while overloaded
 * await edge.drain();    // SIGTERM: refuse new handshakes, close transports over DRAIN_MS
 */
export class Edge {
  readonly load: LoadMonitor;
  readonly guard: OutputGuard;
  readonly admission: Admission;
  private draining = false;
  private refusedSinceLog = 0;
  private lastRefusalLog = 0;
  private io: Server | undefined;

  constructor(
    private readonly config: HeraldConfig['edge'],
    private readonly counters: EdgeCounters,
    private readonly log: Logger,
  ) {
    this.load = new LoadMonitor(config.overloadLagMs, undefined, (lagMs) => {
      counters.overloaded();
      log.warn({ lagMs: Math.round(lagMs) }, 'event loop overloaded: refusing new handshakes and publishes for a moment');
    });
    this.guard = new OutputGuard(config.maxSocketBufferBytes, ({ unsent, owner }) => {
      counters.slowConsumerClosed();
      log.warn({ ...owner, unsentBytes: unsent, capBytes: config.maxSocketBufferBytes }, 'slow consumer: closing its transport');
    });
    this.admission = new Admission({
      handshakesPerSec: config.maxHandshakesPerSec,
      load: this.load,
      draining: () => this.draining,
      refused: (reason) => this.refused(reason),
    });
  }

  /** Installs admission and the output cap on `io`'s engine (it exists once Socket.IO is attached to its HTTP server). */
  install(io: Server): void {
    this.io = io;
    // First of the engine's middlewares: a refused handshake costs nothing more.
    io.engine.use(this.admission.middleware);
    io.engine.on('connection', (conn: EngineSocket) => this.guard.watch(conn));
  }

  /** True from the start of a drain: `/readyz` answers 503 and new handshakes are refused. */
  get isDraining(): boolean {
    return this.draining;
  }

  /** Throws `503 unavailable` with `Retry-After` while the event loop lags past OVERLOAD_LAG_MS. */
  admitPublish(): void {
    if (!this.load.overloaded()) return;
    this.counters.publishRefused('overload');
    throw new HeraldError('unavailable', 'this node is overloaded; retry shortly', undefined, this.load.retryAfterSec);
  }

  /**
   * Refuses new handshakes from now on, then closes this node's transports in
   * batches spread over `DRAIN_MS`, so that the clients reconnect elsewhere over
   * time rather than all at once. Resolves once every connection is gone (or the
   * drain time, and one more second, have passed).
   */
  async drain(ms = this.config.drainMs): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.admission.refuseWaiting('draining');
    if (!this.io) return;
    // Engine.IO's map of open connections, every namespace's (typed protected, documented public).
    const engine = this.io.engine as unknown as { clients: Record<string, EngineSocket>; clientsCount: number };
    this.log.info({ connections: engine.clientsCount, drainMs: ms }, 'draining: closing transports in batches');
    await closeInBatches(() => Object.values(engine.clients), (conn) => conn.close(), ms);
    this.log.info({ left: engine.clientsCount }, 'drained');
  }

  close(): void {
    this.admission.refuseWaiting('draining');
    this.load.close();
  }

  private refused(reason: RefusalReason): void {
    this.counters.handshakeRefused(reason);
    this.refusedSinceLog++;
    const now = Date.now();
    if (now - this.lastRefusalLog < REFUSAL_LOG_MS) return;
    // A storm refuses thousands a second: one line a second says how many.
    this.log.warn({ reason, refused: this.refusedSinceLog }, 'refusing new handshakes');
    this.lastRefusalLog = now;
    this.refusedSinceLog = 0;
  }
}
