import { Redis } from 'ioredis';
import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Notification } from '../protocol/notification.js';
import type { AdminStats, ConnectionInfo, Page, RoomInfo } from '../protocol/admin.js';
import { collect, emitAck, eventually, nextEvent, sleep, startServer, type TestServer } from './helpers.js';
import { followFeed } from '../scripts/soak/follow-feed.js';
import { startRedis, type RedisProcess } from './redis-server.js';

/** Three nodes on one Redis, in this process; each test starts on an empty Redis. */
describe('a cluster of three nodes', () => {
  let redis: RedisProcess;
  let nodes: TestServer[] = [];
  /** Clients a test opens itself, closed after it. */
  const clients: Socket[] = [];
  let a: TestServer, b: TestServer, c: TestServer;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  beforeEach(async () => {
    const client = new Redis(redis.url);
    await client.flushall();
    client.disconnect();
    const env = (id: string) => ({ REDIS_URL: redis.url, NODE_ID: id, NODE_HEARTBEAT_MS: '100', NODE_TIMEOUT_MS: '600', REDIS_REQUESTS_TIMEOUT_MS: '1500' });
    nodes = await Promise.all(['node-a', 'node-b', 'node-c'].map((id) => startServer(env(id))));
    [a, b, c] = nodes as [TestServer, TestServer, TestServer];
    // Every node has seen every other heartbeat.
    await eventually(async () => (await stats(a)).nodes.length === 3, 3000);
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(nodes.map((n) => n.close()));
  });

  const publisher = () => a.token('svc', { roles: ['publisher'] });
  const admin = () => a.token('ops', { roles: ['admin'] });
  const publish = async (via: TestServer, body: unknown, headers?: Record<string, string>) => {
    const res = await via.request('POST', '/api/notifications', { token: publisher(), body, headers });
    expect(res.status).toBe(202);
    return (await res.json()) as { id: string };
  };
  async function stats(via: TestServer): Promise<AdminStats> {
    return (await (await via.request('GET', '/api/admin/stats', { token: admin() })).json()) as AdminStats;
  }

  it('delivers to a client on node A what is published through node C, for a user, a topic and everyone', async () => {
    const alice = await a.connect('alice');
    const bob = await b.connect('bob');
    expect(alice.ready.node).toBe('node-a');
    expect(await emitAck(bob.socket, 'subscribe', { topic: 'ops' })).toMatchObject({ ok: true });
    const direct = nextEvent<Notification>(alice.socket, 'notification');
    const { id } = await publish(c, { to: { user: 'alice' }, title: 'hello from C' });
    expect(await direct).toMatchObject({ id, stream: 'user:alice', title: 'hello from C' });
    const topic = nextEvent<Notification>(bob.socket, 'notification');
    await publish(c, { to: { topic: 'ops' }, title: 'deploy' });
    expect(await topic).toMatchObject({ stream: 'topic:ops', title: 'deploy' });
    const everyone = Promise.all([nextEvent<Notification>(alice.socket, 'notification'), nextEvent<Notification>(bob.socket, 'notification')]);
    await publish(b, { to: { all: true }, title: 'release' });
    expect((await everyone).map((n) => n.stream)).toEqual(['broadcast', 'broadcast']);
  });

  it('hands out seq values that increase across nodes', async () => {
    const alice = await a.connect('alice');
    const seen = collect<Notification>(alice.socket, 'notification');
    for (let i = 0; i < 9; i++) await publish(nodes[i % 3]!, { to: { user: 'alice' }, title: `n${i}` });
    await eventually(() => seen.length === 9);
    const seqs = seen.map((n) => n.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(9);
    const feed = (await (await c.request('GET', '/api/me/notifications', { token: c.token('alice') })).json()) as { items: Notification[] };
    expect(feed.items.map((n) => n.title)).toEqual(['n8', 'n7', 'n6', 'n5', 'n4', 'n3', 'n2', 'n1', 'n0']);
  });

  it('joins the topic on every node when a subscription changes on one', async () => {
    const onA = await a.connect('carol');
    const onC = await c.connect('carol');
    const res = await b.request('PUT', '/api/me/subscriptions/alerts', { token: b.token('carol') });
    expect(await res.json()).toEqual({ topics: ['alerts'] });
    await eventually(async () => (await a.herald.io.in('topic:alerts').fetchSockets()).length === 2);
    const both = Promise.all([nextEvent<Notification>(onA.socket, 'notification'), nextEvent<Notification>(onC.socket, 'notification')]);
    await publish(b, { to: { topic: 'alerts' }, title: 'disk full' });
    expect((await both).map((n) => n.title)).toEqual(['disk full', 'disk full']);
  });

  it('counts presence and admin totals over every node', async () => {
    await a.connect('dave');
    await b.connect('dave');
    await c.connect('erin');
    const presence = await (await c.request('GET', '/api/presence/users/dave', { token: publisher() })).json();
    expect(presence).toEqual({ online: true, connections: 2 });
    await eventually(async () => (await stats(b)).connections === 3);
    const total = await stats(b);
    expect(total.nodes.map((n) => n.id).sort()).toEqual(['node-a', 'node-b', 'node-c']);
    expect(total.nodes.every((n) => n.healthy)).toBe(true);
    expect(total.nodes.map((n) => n.connections).reduce((x, y) => x + y)).toBe(3);
  });

  it('lists rooms and connections of every node, page by page', async () => {
    await a.connect('frank');
    await b.connect('frank');
    await c.connect('gina');
    const rooms = (await (await a.request('GET', '/api/admin/rooms?prefix=user:', { token: admin() })).json()) as Page<RoomInfo>;
    expect(rooms.items).toEqual([
      { name: 'user:frank', kind: 'user', size: 2 },
      { name: 'user:gina', kind: 'user', size: 1 },
    ]);
    const seen: ConnectionInfo[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=1&cursor=${cursor}` : '?limit=1';
      const page = (await (await c.request('GET', `/api/admin/connections${query}`, { token: admin() })).json()) as Page<ConnectionInfo>;
      expect(page.partial).toBeUndefined();
      seen.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.map((s) => `${s.userId}@${s.node}`).sort()).toEqual(['frank@node-a', 'frank@node-b', 'gina@node-c']);
    const onB = (await (await a.request('GET', '/api/admin/connections?node=node-b', { token: admin() })).json()) as Page<ConnectionInfo>;
    expect(onB.items.map((s) => s.userId)).toEqual(['frank']);
  });

  it('disconnects a socket or a user from any node', async () => {
    const h1 = await b.connect('hank');
    const h2 = await c.connect('hank');
    const other = await c.connect('ivy');
    const gone = nextEvent(h1.socket, 'disconnect');
    expect((await a.request('DELETE', `/api/admin/connections/${h1.ready.socketId}`, { token: admin() })).status).toBe(204);
    await gone;
    expect((await a.request('DELETE', '/api/admin/connections/no-such-socket', { token: admin() })).status).toBe(404);
    const rest = nextEvent(h2.socket, 'disconnect');
    const res = await a.request('DELETE', '/api/admin/users/hank/connections', { token: admin() });
    expect(await res.json()).toEqual({ disconnected: 1 });
    await rest;
    expect(other.socket.connected).toBe(true);
  });

  it('replays an idempotent publish from another node without a second delivery', async () => {
    const jo = await a.connect('jo');
    const seen = collect<Notification>(jo.socket, 'notification');
    const body = { to: { user: 'jo' }, title: 'once' };
    const first = await publish(b, body, { 'Idempotency-Key': 'k-1' });
    const again = await publish(c, body, { 'Idempotency-Key': 'k-1' });
    expect(again).toEqual(first);
    // The same key through two nodes at the same moment: one notification.
    const [x, y] = await Promise.all([publish(b, body, { 'Idempotency-Key': 'k-2' }), publish(c, body, { 'Idempotency-Key': 'k-2' })]);
    expect(x).toEqual(y);
    await sleep(200);
    expect(seen.map((n) => n.id)).toEqual([first.id, x.id]);
  });

  it('caps connections per user over the whole cluster', async () => {
    await Promise.all(nodes.map((n) => n.close()));
    const env = (id: string) => ({ REDIS_URL: redis.url, NODE_ID: id, NODE_HEARTBEAT_MS: '100', NODE_TIMEOUT_MS: '600', MAX_CONNECTIONS_PER_USER: '2' });
    nodes = await Promise.all(['cap-a', 'cap-b'].map((id) => startServer(env(id))));
    const [x, y] = nodes as [TestServer, TestServer];
    // The cap counts the sockets on the nodes a node knows of: wait until each has seen the other's heartbeat.
    await eventually(async () => (await stats(x)).nodes.length === 2 && (await stats(y)).nodes.length === 2, 3000);
    await x.connect('kim');
    await y.connect('kim');
    await expect(x.connect('kim')).rejects.toMatchObject({ message: 'forbidden', data: { code: 'too_many_connections' } });
  });

  it("lets the README client page all of what ready.missed brings when it starts more than a page before lastSeq", async () => {
    // In a cluster `missed` starts a seq-clock bucket (10 s) before lastSeq. Everything below is
    // published within one bucket, after the nodes have ticked the one before: missed starts at
    // the first entry, 250 below lastSeq. A client that paged on from lastSeq rather than from the
    // last entry paged skipped entries 101-250, which it may never have had live.
    const bucketMs = 10_000;
    if (Date.now() % bucketMs > bucketMs - 3000) await sleep(bucketMs - (Date.now() % bucketMs) + 200);
    for (let batch = 0; batch < 3; batch++) {
      const notifications = Array.from({ length: 100 }, (_, i) => ({ to: { user: 'alice' }, title: `n${batch * 100 + i}` }));
      const res = await a.request('POST', '/api/notifications/batch', { token: publisher(), body: { notifications } });
      expect(res.status).toBe(202);
    }
    const { socket } = await b.connect('alice');
    const all: { id: string; seq: number }[] = [];
    for (let after = 0; ; ) {
      const page = (await emitAck(socket, 'sync', { afterSeq: after, limit: 100 })) as { items: { id: string; seq: number }[]; hasMore: boolean };
      all.push(...page.items);
      if (!page.hasMore) break;
      after = page.items.at(-1)!.seq;
    }
    socket.disconnect();
    expect(all).toHaveLength(300);

    const shown = new Set<string>();
    const ready = new Promise<{ missed: { seq: number }[] }>((resolve) => {
      const client = followFeed(c.url, { token: () => c.token('alice'), show: (n) => shown.add(n.id), lastSeq: all[249]!.seq, socket: { transports: ['websocket'], forceNew: true } });
      client.once('ready', resolve);
      clients.push(client);
    });
    expect((await ready).missed[0]!.seq).toBe(all[0]!.seq);
    await eventually(() => shown.size === 300, 5000);
    expect(all.filter((n) => !shown.has(n.id))).toEqual([]);
  });
});
