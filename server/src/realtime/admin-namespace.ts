import type { Logger } from 'pino';
import type { Namespace, Socket } from 'socket.io';
import { canReadAdmin, isAdmin } from '../auth/principal.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import { userRoom } from '../../../protocol/rooms.js';
import { HeraldError } from '../errors.js';
import type { Activity } from './activity.js';
import type { ActivitySample } from '../../../protocol/admin.js';
import type { AdminDirectory } from './admin-directory.js';
import type { AdminSocketData, InterServerEvents } from './events.js';
import type { AdminClientToServerEvents, AdminServerToClientEvents } from '../../../protocol/events.js';
import type { RecentNotifications } from './recent-notifications.js';
import { socketAuth } from './socket-auth.js';
import type { HeraldNamespace } from './events.js';
import { TokenExpiry } from './token-expiry.js';

export type AdminNamespace = Namespace<AdminClientToServerEvents, AdminServerToClientEvents, InterServerEvents, AdminSocketData>;
export type AdminSocket = Socket<AdminClientToServerEvents, AdminServerToClientEvents, InterServerEvents, AdminSocketData>;

export interface AdminSocketsOptions {
  nodeId: string;
  verifier: TokenVerifier;
  corsOrigins: readonly string[] | undefined;
  maxConnectionsPerUser: number;
  directory: AdminDirectory;
  activity: Activity;
  recent: RecentNotifications;
  /** How often `stats` is pushed. @default 1000 (ADMIN_STATS_INTERVAL_MS) */
  statsIntervalMs: number;
  log: Logger;
  now: () => number;
}

/**
 * The admin namespace `/admin`: only `admin` and `admin:read` tokens connect.
 * One timer for the whole namespace pushes `stats` (kept counters, never a walk
 * over the sockets), the new per-second samples and the notifications published
 * since the last push; lists are pulled page by page over REST.
 *
 * @example
 * const admin = new AdminSockets(io.of('/admin') as unknown as AdminNamespace, { ...collaborators, statsIntervalMs: 1000 });
 * // client: io('/admin', { auth: { token } }).on('stats', render)
 * admin.close();
 */
export class AdminSockets {
  private readonly timer: NodeJS.Timeout;
  private readonly expiry: TokenExpiry;
  /** A stats call may await the cluster; ticks do not pile up behind a slow one. */
  private ticking = false;
  private lastSampleAt = 0;
  private recentMark: number;

  constructor(
    private readonly nsp: AdminNamespace,
    private readonly opts: AdminSocketsOptions,
  ) {
    this.recentMark = opts.recent.mark;
    this.expiry = new TokenExpiry((socket) => {
      socket.emit('auth:expired', { code: 'token_expired' });
      socket.disconnect(true);
    }, opts.now);
    // socketAuth reads only `adapter.rooms` of the namespace it is given: the
    // per-user cap then counts this user's admin sockets (see onConnection).
    nsp.use(
      socketAuth(nsp as unknown as HeraldNamespace, {
        verifier: opts.verifier,
        corsOrigins: opts.corsOrigins,
        maxConnectionsPerUser: opts.maxConnectionsPerUser,
        authorize: (socket) =>
          canReadAdmin(socket.data.principal) ? undefined : new HeraldError('forbidden', 'the admin namespace requires the admin or admin:read role'),
      }),
    );
    nsp.on('connection', (socket) => void this.onConnection(socket));
    this.timer = setInterval(() => void this.tick(), opts.statsIntervalMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.expiry.close();
  }

  private async onConnection(socket: AdminSocket): Promise<void> {
    const { principal } = socket.data;
    socket.join(userRoom(principal.userId));
    this.expiry.watch(socket, principal.expiresAt);
    socket.on('disconnect', () => this.expiry.forget(socket));
    try {
      const stats = await this.opts.directory.stats();
      if (!socket.connected) return;
      socket.emit('ready', {
        userId: principal.userId,
        roles: principal.roles,
        canAct: isAdmin(principal),
        node: this.opts.nodeId,
        statsIntervalMs: this.opts.statsIntervalMs,
        stats,
        history: [...this.opts.activity.history],
        recent: this.opts.recent.latest(),
      });
    } catch (err) {
      this.opts.log.error({ err }, 'could not prepare the admin connection; disconnecting it');
      socket.disconnect(true);
    }
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    const samples = this.newSamples();
    const mark = this.opts.recent.mark;
    const recentMark = this.recentMark;
    this.recentMark = mark;
    // Nobody watching: nothing is computed, only the marks move on.
    if (this.nsp.sockets.size === 0) return;
    this.ticking = true;
    try {
      // With the cluster adapter every node ticks, so each pushes to its own admin
      // sockets only: the stats (cluster-wide already), and this node's samples and
      // notifications, like the `ready` snapshot.
      const admins = this.nsp.local;
      admins.emit('stats', await this.opts.directory.stats());
      if (samples.length > 0) admins.emit('activity', { samples });
      if (mark > recentMark) admins.emit('notifications', { items: this.opts.recent.since(recentMark) });
    } catch (err) {
      // The directory may need other nodes (cluster mode); the next tick tries again.
      this.opts.log.warn({ err }, 'admin stats push failed');
    } finally {
      this.ticking = false;
    }
  }

  /** Samples taken since the previous tick, oldest first. */
  private newSamples(): ActivitySample[] {
    const history = this.opts.activity.history;
    let from = history.length;
    while (from > 0 && history[from - 1]!.t > this.lastSampleAt) from--;
    const samples = history.slice(from);
    if (samples.length > 0) this.lastSampleAt = samples.at(-1)!.t;
    return samples;
  }
}
