/**
 * EXPERIMENT, not Herald: only the publish routes, served by Herald's own domain
 * and store code (TokenVerifier, NotificationService with Herald's observers,
 * SqliteStore with its group commit, SocketDelivery on a Socket.IO server)
 * behind the lean handler of ./lean-publish.ts. Used by ./publish-experiment.ts.
 *
 * Variants (LEAN_VARIANT, comma-separated): `cache` (verified tokens kept),
 * `skip-empty` (no encode for an empty room), `off-thread` (appends on a worker
 * thread, ./off-thread-append-store.ts).
 * Environment as Herald's (PORT, HOST, JWT_SECRET, DATA_DIR).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Server } from 'socket.io';
import { TokenVerifier, verifierKeys } from '../../server/src/auth/token-verifier.js';
import { LocalPresence } from '../../server/src/cluster/presence.js';
import { loadConfig } from '../../server/src/config.js';
import { combinePublishObservers, NotificationService } from '../../server/src/domain/notification-service.js';
import { HeraldMetrics } from '../../server/src/metrics.js';
import { Activity } from '../../server/src/realtime/activity.js';
import { RecentNotifications } from '../../server/src/realtime/recent-notifications.js';
import { SocketDelivery, type HeraldNamespace } from '../../server/src/realtime/socket-delivery.js';
import { GuardedStore } from '../../server/src/store/guarded-store.js';
import { SqliteStore } from '../../server/src/store/sqlite-store.js';
import { leanPublish, SkipEmptyDelivery } from './lean-publish.js';
import { OffThreadAppendStore } from './off-thread-append-store.js';

const variant = new Set((process.env.LEAN_VARIANT ?? '').split(',').filter(Boolean));
const config = loadConfig(process.env);
const log = pino({ level: 'warn' });
const verifier = new TokenVerifier(verifierKeys(config.jwt, config.jwt.secret));
const store = new GuardedStore(variant.has('off-thread') ? new OffThreadAppendStore(config.dataDir) : new SqliteStore({ dataDir: config.dataDir }), log);

const lean = leanPublish({ verifier, service: () => service, cacheTokens: variant.has('cache'), maxBodyBytes: config.maxBodyBytes });
const http = createServer((req, res) => {
  if (lean(req, res)) return;
  res.writeHead(req.url === '/readyz' || req.url === '/healthz' ? 200 : 404, { 'content-type': 'application/json' }).end('{}');
});
const io = new Server(http, { serveClient: false });
const nsp = io.of('/') as unknown as HeraldNamespace;
const presence = new LocalPresence(nsp);
const delivery = variant.has('skip-empty') ? new SkipEmptyDelivery(nsp, store, presence, log) : new SocketDelivery(nsp, store, presence, log);
// The same observers as Herald (Prometheus metrics, the admin's latest notifications).
const activity = new Activity(() => nsp.sockets.size);
const metrics = new HeraldMetrics({ connections: () => nsp.sockets.size, usersOnline: () => 0, activity });
const service = new NotificationService(store, delivery, combinePublishObservers(metrics, new RecentNotifications()));

http.listen(config.port, config.host, () => process.stdout.write(`listening ${(http.address() as AddressInfo).port}\n`));
process.once('SIGTERM', () => {
  io.close();
  void store.close().then(() => process.exit(0));
});
