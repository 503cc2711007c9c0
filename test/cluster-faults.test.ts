import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io as connectClient } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Notification } from '../protocol/notification.js';
import type { ReadyPayload } from '../protocol/events.js';
import { SERVER_BUNDLE } from '../scripts/server-bundle.js';
import { NODE_FLAGS } from '../server/src/node-flags.js';
import type { AdminStats } from '../protocol/admin.js';
import { eventually, freePort, SECRET, sleep, startServer, type TestClient, type TestServer } from './helpers.js';
import { CLUSTER_ENV } from './kit/fixtures.js';
import { startRedisProxy, type RedisProxy } from './redis-proxy.js';
import { startRedis, type RedisProcess } from './redis-server.js';

// The kit's cluster timings, with Redis requests given up on sooner: these tests take Redis away.
const FAST = { ...CLUSTER_ENV, REDIS_REQUESTS_TIMEOUT_MS: '1000' };

/** A client that keeps the highest seq it saw and resumes from it on every reconnect, as the README shows. */
function resumingClient(url: string, token: string) {
  const seen = new Map<number, Notification>();
  let lastSeq: number | undefined;
  const take = (n: Notification) => {
    seen.set(n.seq, n);
    lastSeq = Math.max(lastSeq ?? 0, n.seq);
  };
  const socket: TestClient = connectClient(url, {
    transports: ['websocket'],
    forceNew: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 300,
    auth: (cb) => cb({ token, ...(lastSeq !== undefined ? { lastSeq } : {}) }),
  });
  socket.on('notification', take);
  socket.on('ready', (ready: ReadyPayload) => ready.missed.forEach(take));
  return { socket, seen, lastSeq: () => lastSeq };
}

describe('cluster faults', () => {
  let redis: RedisProcess;
  const servers: TestServer[] = [];
  const children: ChildProcess[] = [];
  const sockets: TestClient[] = [];
  /** Closed after the servers that reach Redis through them. */
  const proxies: RedisProxy[] = [];

  beforeAll(async () => {
    redis = await startRedis({ persistent: true });
  });
  afterAll(async () => {
    await redis.stop();
  });
  let redisDown = false;
  afterEach(async () => {
    if (redisDown) await redis.start();
    redisDown = false;
    sockets.splice(0).forEach((s) => s.disconnect());
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });

  it('leaves no unhandled rejection from the adapter\'s Redis commands, queued while Redis is down or sent after the node closed', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      // A delivery that comes after a node closed its Redis clients (an append that resolved late):
      // ioredis rejects the adapter's PUBLISH at once with "Connection is closed."
      const early = await startServer({ REDIS_URL: redis.url, NODE_ID: 'fault-early', ...FAST });
      await early.close();
      early.herald.io.to('user:alice').emit('subscriptions', { topics: [] });
      await sleep(100);
      expect(unhandled).toEqual([]);

      const a = await startServer({ REDIS_URL: redis.url, NODE_ID: 'fault-owner', ...FAST });
      await a.connect('alice');
      await redis.stop({ keepData: true });
      redisDown = true;
      // Each of these makes the adapter PUBLISH (and never look at the result): queued while Redis is down.
      for (let i = 0; i < 20; i++) {
        a.herald.io.in('user:alice').socketsJoin(`topic:t${i}`);
        a.herald.io.to('user:alice').emit('subscriptions', { topics: [`t${i}`] });
      }
      await a.close();
      a.herald.io.to('user:alice').emit('subscriptions', { topics: [] });
      await sleep(200);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });

  it('keeps nodes up through a Redis restart, answers 503 meanwhile, and loses no acknowledged notification', async () => {
    const [a, c] = await Promise.all(['fault-a', 'fault-c'].map((id) => startServer({ REDIS_URL: redis.url, NODE_ID: id, ...FAST })));
    servers.push(a!, c!);
    const publisher = c!.token('svc', { roles: ['publisher'] });
    const alice = resumingClient(a!.url, a!.token('alice', { expiresIn: 600 }));
    sockets.push(alice.socket);
    await new Promise((resolve) => alice.socket.once('ready', resolve));

    // Traffic through node C for the whole test: every 202 is recorded.
    const acked = new Set<string>();
    const outcomes: number[] = [];
    let running = true;
    const traffic = (async () => {
      for (let i = 0; running && i < 2000; i++) {
        const started = Date.now();
        const res = await c!.request('POST', '/api/notifications', { token: publisher, body: { to: { user: 'alice' }, title: `t${i}` } });
        outcomes.push(res.status);
        expect(Date.now() - started).toBeLessThan(4000); // never hangs
        if (res.status === 202) acked.add(((await res.json()) as { id: string }).id);
        else await res.body?.cancel();
        await sleep(15);
      }
    })();

    await eventually(() => acked.size >= 10, 5000);
    await redis.stop({ keepData: true });
    redisDown = true;
    await eventually(async () => (await c!.request('GET', '/readyz')).status === 503, 5000);
    expect((await a!.request('GET', '/healthz')).status).toBe(200);
    const down = await c!.request('POST', '/api/notifications', { token: publisher, body: { to: { user: 'alice' }, title: 'while down' } });
    expect(down.status).toBe(503);
    expect(((await down.json()) as { error: { code: string } }).error.code).toBe('unavailable');

    await redis.start();
    redisDown = false;
    await eventually(async () => (await c!.request('GET', '/readyz')).status === 200 && (await a!.request('GET', '/readyz')).status === 200, 8000);
    const afterRestart = acked.size;
    await eventually(() => acked.size >= afterRestart + 10, 8000);
    running = false;
    await traffic;

    // During the outage a request either waited for Redis (and succeeded) or got 503: nothing else.
    expect(outcomes.filter((status) => status !== 202 && status !== 503)).toEqual([]);
    // Everything acknowledged reaches alice: live, resent after the outage, or on her reconnect.
    await eventually(() => [...acked].every((id) => [...alice.seen.values()].some((n) => n.id === id)), 8000);
    expect(a!.herald.io.of('/').sockets.size).toBe(1);
  }, 40_000);

  it('counts a node\'s subscriber back only once its resubscription is in effect, so what another node publishes meanwhile reaches its sockets', async () => {
    // Node A reaches Redis through a proxy that cuts its subscriber connection and then holds the
    // resubscription back: ioredis is "ready" at once, Redis knows of the subscription 800 ms later.
    const proxy = await startRedisProxy(redis.port);
    proxies.push(proxy);
    const a = await startServer({ REDIS_URL: proxy.url, NODE_ID: 'resub-a', ...FAST });
    const b = await startServer({ REDIS_URL: redis.url, NODE_ID: 'resub-b', ...FAST });
    servers.push(a, b);
    const alice = resumingClient(a.url, a.token('alice', { expiresIn: 600 }));
    sockets.push(alice.socket);
    await new Promise((resolve) => alice.socket.once('ready', resolve));
    let reconnects = 0;
    alice.socket.io.on('reconnect', () => reconnects++);
    const publisher = b.token('svc', { roles: ['publisher'] });
    const acked: string[] = [];
    const publish = async (title: string) => {
      const res = await b.request('POST', '/api/notifications', { token: publisher, body: { to: { user: 'alice' }, title } });
      expect(res.status).toBe(202);
      acked.push(((await res.json()) as { id: string }).id);
    };
    await publish('before');
    await eventually(() => alice.seen.size === 1);

    proxy.delaySubscribe('herald-sub', 800);
    proxy.drop('herald-sub');
    // Through the held-back window and past it, several heartbeats of A (every 100 ms) long.
    for (let i = 0; i < 30; i++) {
      await publish(`during-${i}`);
      await sleep(50);
    }
    await eventually(() => acked.every((id) => [...alice.seen.values()].some((n) => n.id === id)), 5000);
    // Received on the socket that stayed connected: no reconnect (with its resume) made up for it.
    expect(reconnects).toBe(0);
  }, 30_000);

  it('lets the clients of a killed node resume on another node, and stops counting the dead node', async () => {
    const a = await startServer({ REDIS_URL: redis.url, NODE_ID: 'survivor', ...FAST });
    servers.push(a);
    const port = await freePort();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'herald-victim-'));
    const child = spawn(process.execPath, [...NODE_FLAGS, SERVER_BUNDLE], {
      cwd: path.resolve(import.meta.dirname, '..'),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, JWT_SECRET: SECRET, REDIS_URL: redis.url, NODE_ID: 'victim', PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...FAST },
      stdio: 'ignore',
    });
    children.push(child);
    const victimUrl = `http://127.0.0.1:${port}`;
    await eventually(async () => (await fetch(`${victimUrl}/readyz`).catch(() => undefined))?.status === 200, 20_000, 100);
    const admin = a.token('ops', { roles: ['admin'] });
    const stats = async () => (await (await a.request('GET', '/api/admin/stats', { token: admin })).json()) as AdminStats;
    await eventually(async () => (await stats()).nodes.some((n) => n.id === 'victim'), 3000);

    const bob = resumingClient(victimUrl, a.token('bob', { expiresIn: 600 }));
    sockets.push(bob.socket);
    await new Promise((resolve) => bob.socket.once('ready', resolve));
    const publisher = a.token('svc', { roles: ['publisher'] });
    const first = await a.request('POST', '/api/notifications', { token: publisher, body: { to: { user: 'bob' }, title: 'before' } });
    expect(first.status).toBe(202);
    await eventually(() => bob.seen.size === 1);

    child.kill('SIGKILL');
    await new Promise((resolve) => bob.socket.once('disconnect', resolve));
    bob.socket.io.opts.reconnection = false;
    const missedIds: string[] = [];
    for (const title of ['gone-1', 'gone-2']) {
      const res = await a.request('POST', '/api/notifications', { token: publisher, body: { to: { user: 'bob' }, title } });
      missedIds.push(((await res.json()) as { id: string }).id);
    }
    // The load balancer would send bob to the surviving node, with the last seq he saw.
    const lastSeq = bob.lastSeq()!;
    const { ready } = await a.connect('bob', { lastSeq });
    expect(ready.node).toBe('survivor');
    expect(ready.missed.filter((n) => n.seq > lastSeq).map((n) => n.id)).toEqual(missedIds);
    // In a cluster `missed` starts a little before lastSeq (live delivery between nodes is not in
    // seq order): what it repeats is what bob had, which he drops by seq.
    const repeated = ready.missed.filter((n) => n.seq <= lastSeq);
    expect(repeated.every((n) => bob.seen.has(n.seq))).toBe(true);

    await eventually(async () => !(await stats()).nodes.some((n) => n.id === 'victim'), 3000);
    const presence = await (await a.request('GET', '/api/presence/users/bob', { token: publisher })).json();
    expect(presence).toEqual({ online: true, connections: 1 });
    expect((await stats()).connections).toBe(1);
    rmSync(dataDir, { recursive: true, force: true });
  }, 40_000);
});

