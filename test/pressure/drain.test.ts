import { io as connectClient, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { followFeed } from '../../scripts/soak/follow-feed.js';
import { eventually, metric, sleep } from '../helpers.js';
import { startHeraldProcess, type HeraldProcess } from '../herald-process.js';
import { startNginx, type Nginx } from '../nginx.js';
import { startRedis, type RedisProcess } from '../redis-server.js';

/** POSTs one notification to `user`; resolves its id on 202, undefined on anything else (not acknowledged). */
async function publishTo(url: string, token: string, user: string, title: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${url}/api/notifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: { user }, title }),
      signal: AbortSignal.timeout(5000),
    });
    return res.status === 202 ? ((await res.json()) as { id: string }).id : undefined;
  } catch {
    return undefined; // the node went away mid-request: not acknowledged
  }
}

describe('draining a node on SIGTERM (SPEC §8)', () => {
  let herald: HeraldProcess | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await herald?.dispose();
    herald = undefined;
  });

  it('answers /readyz and new handshakes 503 at once, closes its transports in batches over DRAIN_MS, and exits 0', async () => {
    const node = (herald = await startHeraldProcess({ env: { DRAIN_MS: '2000' } }));
    const closedAt: number[] = [];
    const reasons: string[] = [];
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const socket = connectClient(node.url, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: node.token(`u${i}`) } });
        sockets.push(socket);
        socket.on('disconnect', (reason) => {
          closedAt.push(Date.now());
          reasons.push(reason);
        });
        await new Promise((resolve, reject) => socket.once('ready', resolve).once('connect_error', reject));
      }),
    );
    const exited = node.stop('SIGTERM', 15_000);
    const signalled = Date.now();
    await eventually(async () => (await fetch(`${node.url}/readyz`)).status === 503, 1000, 10);
    const handshake = await fetch(`${node.url}/socket.io/?EIO=4&transport=polling`);
    expect(handshake.status).toBe(503);
    expect(handshake.headers.get('retry-after')).toBe('1');
    expect(await handshake.json()).toEqual({ error: { code: 'unavailable', message: expect.stringMatching(/shutting down/) } });
    expect(await metric(node.url, 'herald_draining')).toBe(1);
    expect(await metric(node.url, 'herald_handshakes_refused_total{reason="draining"}')).toBeGreaterThanOrEqual(1);
    // Still publishing while it drains: the store is open until the end.
    const publisher = node.token('svc', { roles: ['publisher'] });
    expect(await publishTo(node.url, publisher, 'u0', 'during the drain')).toBeDefined();

    expect(await exited).toEqual({ code: 0, signal: null });
    expect(closedAt).toHaveLength(40);
    // Ordinary transport closes, after which socket.io-client reconnects by itself (elsewhere).
    expect(new Set(reasons)).toEqual(new Set(['transport close']));
    closedAt.sort((a, b) => a - b);
    // Spread over the 2 s, not all at once: no more than half within the first half second.
    expect(closedAt.at(-1)! - closedAt[0]!).toBeGreaterThan(1200);
    expect(closedAt.filter((t) => t - signalled < 500).length).toBeLessThanOrEqual(20);
  }, 30_000);
});

describe('draining one node of two behind deploy/nginx.conf', () => {
  let redis: RedisProcess;
  let nodes: HeraldProcess[] = [];
  let nginx: Nginx;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    const env = (id: string) => ({ REDIS_URL: redis.url, NODE_ID: id, DRAIN_MS: '4000', NODE_HEARTBEAT_MS: '200', NODE_TIMEOUT_MS: '1000', API_RATE_PER_SEC: '0' });
    nodes = await Promise.all(['node-1', 'node-2'].map((id) => startHeraldProcess({ env: env(id) })));
    nginx = await startNginx([nodes[0]!.port, nodes[1]!.port]);
  }, 60_000);
  afterAll(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await nginx?.stop();
    await Promise.all(nodes.map((n) => n.dispose()));
    await redis?.stop();
  }, 30_000);

  it('moves the drained node\'s clients to the other node spread over the drain window, and none loses a notification published meanwhile', async () => {
    const [first, second] = nodes as [HeraldProcess, HeraldProcess];
    // 80 users, each from a loopback address of its own: the balancer hashes them over both nodes.
    const users = Array.from({ length: 80 }, (_, i) => `drain-${i}`);
    const shown = new Map<string, Set<string>>(users.map((u) => [u, new Set<string>()]));
    const readies = new Map<string, { node: string; at: number }[]>(users.map((u) => [u, []]));
    await Promise.all(
      users.map(async (user, i) => {
        const socket = followFeed(nginx.url, {
          token: () => first.token(user),
          show: (n) => shown.get(user)!.add(n.id),
          lastSeq: 0,
          socket: {
            transports: ['websocket'],
            forceNew: true,
            reconnectionDelay: 500,
            reconnectionDelayMax: 2000,
            localAddress: `127.0.${10 + Math.floor(i / 200)}.${(i % 200) + 2}`,
          } as Parameters<typeof followFeed>[1]['socket'],
        });
        sockets.push(socket);
        socket.on('ready', (ready: { node: string }) => readies.get(user)!.push({ node: ready.node, at: Date.now() }));
        await eventually(() => readies.get(user)!.length > 0, 15_000, 20);
      }),
    );
    const onFirst = users.filter((u) => readies.get(u)![0]!.node === 'node-1');
    expect(onFirst.length).toBeGreaterThanOrEqual(10);
    expect(users.length - onFirst.length).toBeGreaterThanOrEqual(10);

    // Publishers on both nodes, every 10 ms, before, during and after the drain; only 202s count.
    const acknowledged = new Map<string, string>();
    const publisher = first.token('svc', { roles: ['publisher'] });
    let publishing = true;
    const lanes = [first, second].map(async (node, lane) => {
      for (let k = 0; publishing; k++) {
        const user = users[(k * 2 + lane) % users.length]!;
        const id = await publishTo(node.url, publisher, user, `n${lane}-${k}`);
        if (id) acknowledged.set(id, user);
        await sleep(10);
      }
    });
    await sleep(500);
    const signalled = Date.now();
    const exited = first.stop('SIGTERM', 20_000);
    expect(await exited).toEqual({ code: 0, signal: null });
    await eventually(() => onFirst.every((u) => readies.get(u)!.length >= 2), 15_000, 50);
    await sleep(500);
    publishing = false;
    await Promise.all(lanes);

    // Every client of the drained node is back, on the other node, at moments spread over the window.
    const moved = onFirst.map((u) => readies.get(u)!.at(-1)!);
    expect(moved.every((r) => r.node === 'node-2')).toBe(true);
    const times = moved.map((r) => r.at - signalled).sort((a, b) => a - b);
    expect(times.at(-1)! - times[0]!).toBeGreaterThan(1500);
    // Not all in one second: at most two thirds of them inside any one second.
    for (const t of times) expect(times.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(Math.ceil((onFirst.length * 2) / 3));

    // Nothing lost: each user has every notification acknowledged for them, before, during and after.
    expect(acknowledged.size).toBeGreaterThan(200);
    await eventually(() => [...acknowledged].every(([id, user]) => shown.get(user)!.has(id)), 15_000, 50);
    const lost = [...acknowledged].filter(([id, user]) => !shown.get(user)!.has(id));
    expect(lost).toEqual([]);
  }, 90_000);
});

