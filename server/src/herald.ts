import { createServer, type Server as HttpServer } from 'node:http';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { Server } from 'socket.io';
import { loadOrCreateDevSecret } from './auth/dev-secret.js';
import { TokenVerifier, verifierKeys } from './auth/token-verifier.js';
import { VerifiedTokens } from './auth/verified-tokens.js';
import type { HeraldConfig } from './config.js';
import { CatchUpReads } from './domain/catch-up.js';
import { FeedService } from './domain/feed-service.js';
import { Edge } from './edge/edge.js';
import { Retention } from './domain/retention.js';
import { combinePublishObservers, NotificationService } from './domain/notification-service.js';
import { SubscriptionService } from './domain/subscription-service.js';
import { adminStatic } from './http/admin-static.js';
import { createApp } from './http/app.js';
import type { HttpDeps } from './http/deps.js';
import { passportAuthenticate } from './http/authenticate.js';
import { Dispatcher } from './http/dispatcher.js';
import { routeHandlers } from './http/handlers.js';
import { createLogger } from './logger.js';
import { HeraldMetrics } from './metrics.js';
import { Activity } from './realtime/activity.js';
import { AdminSockets, type AdminNamespace } from './realtime/admin-namespace.js';
import type { HeraldNamespace, InterServerEvents, SocketData } from './realtime/events.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../../protocol/events.js';
import { SocketDelivery } from './realtime/socket-delivery.js';
import { RecentNotifications } from './realtime/recent-notifications.js';
import { UserSockets } from './realtime/socket-server.js';
import { releaseUpgradeResponses } from './realtime/handshake.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import { GuardedStore } from './store/guarded-store.js';
import type { Backplane } from './backplane/backplane.js';
import { LocalBackplane } from './backplane/local-backplane.js';
import { Cluster } from './cluster/cluster.js';
import type { NotificationStore } from './domain/notification-store.js';

export type HeraldServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** Collaborators a caller may supply; each has an embedded default. */
export interface HeraldDeps {
  /** The store of a single node, instead of SQLite (a cluster uses its Redis store). */
  store?: NotificationStore;
  logger?: Logger;
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
}

export interface Herald {
  readonly config: HeraldConfig;
  readonly http: HttpServer;
  readonly io: HeraldServer;
  readonly app: Express;
  readonly log: Logger;
  readonly metrics: HeraldMetrics;
  /** The HS256 secret in use when it is the development secret kept in DATA_DIR. */
  readonly devSecret: string | undefined;
  /** The limits of SPEC §8: admission, overload, slow consumers, drain. */
  readonly edge: Edge;
  /**
   * SIGTERM's first step: `/readyz` answers 503 and new handshakes are refused
   * at once, then the transports are closed in batches over `DRAIN_MS` so that
   * clients reconnect elsewhere over time. `close()` follows.
   */
  drain(): Promise<void>;
  /** Stops accepting, disconnects every socket, flushes and closes the store. Idempotent. */
  close(): Promise<void>;
}

/**
 * Builds a whole Herald node, not yet listening: `http.listen()` is the caller's
 * (only `main.ts` and tests listen), so tests can run several nodes in one process.
 *
 * @example
 * const herald = await createHerald(loadConfig({ ...process.env, PORT: '0' }));
 * herald.http.listen(0);
 * await herald.close();
 */
export async function createHerald(config: HeraldConfig, deps: HeraldDeps = {}): Promise<Herald> {
  const log = deps.logger ?? createLogger(config.logLevel);
  const now = deps.now ?? Date.now;
  const devSecret = config.jwt.algorithm === 'HS256' && !config.jwt.secret ? loadOrCreateDevSecret(config.dataDir) : undefined;
  const verifier = new TokenVerifier(verifierKeys(config.jwt, config.jwt.secret ?? devSecret));
  const storeLog = log.child({ component: 'store' });
  const backplane: Backplane = config.redisUrl
    ? await Cluster.connect(config, log, now)
    : new LocalBackplane(deps.store ?? new SqliteStore({ dataDir: config.dataDir, now, log: storeLog }), config);
  const store = new GuardedStore(backplane.store, storeLog);

  // Socket.IO is attached to the HTTP server at the end, once the server's own
  // listener exists (Engine.IO wraps the listeners present when it attaches).
  const io: HeraldServer = new Server({
    maxHttpBufferSize: config.maxSocketPayload,
    serveClient: false,
    // The transport answers every origin so that a refused browser reads a clear
    // `connect_error` (forbidden_origin) from the namespace middleware, which
    // enforces the allow-list; no cookies are used, so this exposes nothing.
    cors: { origin: true, credentials: false },
    ...(backplane.adapter ? { adapter: backplane.adapter } : {}),
  });
  const nsp: HeraldNamespace = io.of('/');
  const activity = new Activity(() => nsp.sockets.size, now);
  const { presence, directory } = backplane.attach(nsp, activity, now);
  const delivery = new SocketDelivery(nsp, store, presence, log.child({ component: 'delivery' }), backplane.shared);
  const metrics: HeraldMetrics = new HeraldMetrics({
    connections: () => nsp.sockets.size,
    usersOnline: () => directory.usersOnline,
    activity,
    overloaded: () => edge.load.overloaded(),
    draining: () => edge.isDraining,
    handshakesWaiting: () => edge.admission.queued,
  });
  const edge = new Edge(config.edge, metrics, log.child({ component: 'edge' }));
  nsp.on('connection', (socket) => edge.guard.own(socket.conn, { userId: socket.data.principal.userId, socketId: socket.id }));
  const feed = new FeedService(store, delivery);
  const subscriptions = new SubscriptionService(store, delivery);
  const recent = new RecentNotifications();
  const notifications = new NotificationService(store, delivery, combinePublishObservers(metrics, recent), now);
  const userSockets = new UserSockets(nsp, {
    nodeId: config.nodeId,
    verifier,
    feed,
    subscriptions,
    catchUp: new CatchUpReads(store, (size) => metrics.catchUpBatch(size)),
    log: log.child({ component: 'sockets' }),
    corsOrigins: config.corsOrigins,
    maxConnectionsPerUser: config.maxConnectionsPerUser,
    eventsPerSec: config.socketEventsPerSec,
    eventsBurst: config.socketEventsBurst,
    now,
    presence,
  });
  // Socket.IO types every namespace of a server alike; `/admin` has its own event maps.
  const adminSockets = new AdminSockets(io.of('/admin') as unknown as AdminNamespace, {
    nodeId: config.nodeId,
    verifier,
    corsOrigins: config.corsOrigins,
    maxConnectionsPerUser: config.maxConnectionsPerUser,
    directory,
    activity,
    recent,
    statsIntervalMs: config.adminStatsIntervalMs,
    log: log.child({ component: 'admin-sockets' }),
    now,
  });

  let accepting = true;
  const httpDeps: HttpDeps = {
    config,
    log: log.child({ component: 'http' }),
    tokens: new VerifiedTokens(verifier),
    store,
    notifications,
    feed,
    subscriptions,
    directory,
    metrics,
    rateLimiter: backplane.rateLimiter,
    now,
    accepting: () => accepting && !edge.isDraining,
    edge,
  };
  const dispatcher = new Dispatcher(httpDeps, routeHandlers(httpDeps), passportAuthenticate(httpDeps.tokens));
  const app = createApp(httpDeps, dispatcher, { static: adminStatic() });
  const http = createServer((req, res) => {
    if (!dispatcher.listener(req, res)) app(req, res);
  });
  io.attach(http);
  // Admission comes first among the engine's middlewares: a refused handshake costs nothing more.
  edge.install(io);
  // Each socket's upgrade request is let go of: engine.io's copy here, the rest by UserSockets once authenticated.
  releaseUpgradeResponses(io.engine);

  const retention = new Retention(store, config.retention, log.child({ component: 'retention' }), now);
  retention.start();
  await backplane.start(nsp, feed);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      accepting = false;
      retention.stop();
      userSockets.close();
      adminSockets.close();
      activity.close();
      edge.close();
      const force = setTimeout(() => http.closeAllConnections(), config.shutdownTimeoutMs);
      force.unref();
      // Disconnects every socket and closes the HTTP server (idle keep-alive connections included).
      await new Promise<void>((resolve) => {
        io.close(() => resolve());
        http.closeIdleConnections();
      });
      clearTimeout(force);
      await store.close();
      await backplane.close();
      log.info('closed');
    })());

  return { config, http, io, app, log, metrics, devSecret, edge, drain: () => edge.drain(), close };
}
