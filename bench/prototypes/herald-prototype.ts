/**
 * EXPERIMENT, not a way to run Herald: Herald exactly as server/src/main.ts builds
 * it (createHerald), with recommended changes applied from outside, to measure
 * them with the benchmark's own phases before anyone edits server/:
 *
 *   BENCH_HERALD_ENTRY=bench/prototypes/herald-prototype.ts HERALD_PROTOTYPE=trim-sockets \
 *     npm run bench -- --phases memory --no-results
 *
 * HERALD_PROTOTYPE (comma-separated):
 * - `trim-sockets`: let go of the second reference engine.io keeps to each
 *   connection's upgrade request (its WebSocketResponse, held by a `close`
 *   listener on the TCP socket); Herald's releaseHandshake drops the first.
 * - `lean-publish`: the publish routes answered by ./lean-publish.ts in front of
 *   Express, with a NotificationService of their own on a second connection to
 *   Herald's SQLite file and a SocketDelivery on Herald's `/` namespace (single
 *   node only; Herald's admin stats do not count these publishes).
 * - `cache`, `skip-empty`: the lean path's token cache and empty-room skip.
 * - `off-thread`: the lean path's appends (inserts, commit, fsync) on a worker
 *   thread (./off-thread-append-store.ts).
 */
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { TokenVerifier, verifierKeys } from '../../server/src/auth/token-verifier.js';
import { LocalPresence } from '../../server/src/cluster/presence.js';
import { loadConfig } from '../../server/src/config.js';
import { combinePublishObservers, NotificationService } from '../../server/src/domain/notification-service.js';
import { createHerald } from '../../server/src/herald.js';
import { HeraldMetrics } from '../../server/src/metrics.js';
import { Activity } from '../../server/src/realtime/activity.js';
import { RecentNotifications } from '../../server/src/realtime/recent-notifications.js';
import { SocketDelivery, type HeraldNamespace } from '../../server/src/realtime/socket-delivery.js';
import { GuardedStore } from '../../server/src/store/guarded-store.js';
import { SqliteStore } from '../../server/src/store/sqlite-store.js';
import { leanPublish, SkipEmptyDelivery } from './lean-publish.js';
import { OffThreadAppendStore } from './off-thread-append-store.js';

const changes = new Set((process.env.HERALD_PROTOTYPE ?? '').split(',').filter(Boolean));
const config = loadConfig(process.env);
const herald = await createHerald(config);

if (changes.has('trim-sockets')) {
  // Herald's releaseHandshake already drops `socket.conn.request`, but engine.io keeps the
  // upgrade request a second time: the WebSocketResponse it makes for middlewares holds
  // `req`, and a `close` listener on the TCP socket holds that response for the
  // connection's whole life. Remember each upgrade's response (by request, weakly,
  // adding no property to the request) and let go of its `req` once the engine
  // connection is up; Socket.IO reads the handshake from `conn.request`, not from there.
  const upgradeResponses = new WeakMap<object, { req?: unknown }>();
  herald.io.engine.use((req: object, res: { req?: unknown }, next: () => void) => {
    upgradeResponses.set(req, res);
    next();
  });
  herald.io.engine.on('connection', (raw: { request?: object }) => {
    const response = raw.request && upgradeResponses.get(raw.request);
    if (response) response.req = undefined;
  });
}

if (changes.has('lean-publish')) {
  const log = pino({ level: 'warn' });
  const store = new GuardedStore(changes.has('off-thread') ? new OffThreadAppendStore(config.dataDir) : new SqliteStore({ dataDir: config.dataDir }), log);
  const nsp = herald.io.of('/') as unknown as HeraldNamespace;
  const presence = new LocalPresence(nsp);
  const delivery = changes.has('skip-empty') ? new SkipEmptyDelivery(nsp, store, presence, log) : new SocketDelivery(nsp, store, presence, log);
  // Observers like Herald's own (their cost counts; Herald's admin stats do not see these publishes).
  const activity = new Activity(() => nsp.sockets.size);
  const metrics = new HeraldMetrics({ connections: () => nsp.sockets.size, usersOnline: () => 0, activity });
  const service = new NotificationService(store, delivery, combinePublishObservers(metrics, new RecentNotifications()));
  const verifier = new TokenVerifier(verifierKeys(config.jwt, config.jwt.secret));
  const lean = leanPublish({ verifier, service: () => service, cacheTokens: changes.has('cache'), maxBodyBytes: config.maxBodyBytes });
  // Engine.IO has wrapped Herald's request listeners; the lean path goes first, the rest falls through.
  const listeners = herald.http.listeners('request') as ((...args: unknown[]) => void)[];
  herald.http.removeAllListeners('request');
  herald.http.on('request', (req, res) => {
    if (!lean(req, res)) for (const listener of listeners) listener.call(herald.http, req, res);
  });
}

herald.http.listen(config.port, config.host, () => {
  process.stdout.write(`listening ${(herald.http.address() as AddressInfo).port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void herald.close().then(() => process.exit(0)));
