import type { Notification } from '../protocol/notification.js';
import type { ConnectionInfo, Page } from '../protocol/admin.js';
import type { PublishInput } from '../protocol/requests.js';
import { collect, emitAck, eventually, nextEvent, sleep, type TestServer } from './helpers.js';
import { describe, expect, test } from './kit/fixtures.js';
import { followFeed } from '../scripts/soak/follow-feed.js';

/** Three nodes on one Redis, in this process; each test starts on an empty Redis (test/kit/fixtures.ts). */
describe('a cluster of three nodes', () => {
  // Every node signs and checks with the same secret: a token from one is good on all.
  const token = (node: TestServer, sub: string, roles: string[]) => node.token(sub, { roles });
  const publish = (via: TestServer, body: PublishInput, headers?: { 'Idempotency-Key': string }) =>
    via.api.as(token(via, 'svc', ['publisher'])).ok('publishNotification', { body, ...(headers ? { headers } : {}) });
  const admin = (via: TestServer) => via.api.as(token(via, 'ops', ['admin']));
  const stats = (via: TestServer) => admin(via).ok('getAdminStats', {});

  test('delivers to a client on node A what is published through node C, for a user, a topic and everyone', async ({ cluster: [a, b, c] }) => {
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

  test('hands out seq values that increase across nodes', async ({ cluster }) => {
    const [a, , c] = cluster;
    const alice = await a.connect('alice');
    const seen = collect<Notification>(alice.socket, 'notification');
    for (let i = 0; i < 9; i++) await publish(cluster[i % 3]!, { to: { user: 'alice' }, title: `n${i}` });
    await eventually(() => seen.length === 9);
    const seqs = seen.map((n) => n.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(9);
    const feed = await c.api.as(c.token('alice')).ok('getMyFeed', {});
    expect(feed.items.map((n) => n.title)).toEqual(['n8', 'n7', 'n6', 'n5', 'n4', 'n3', 'n2', 'n1', 'n0']);
  });

  test('joins the topic on every node when a subscription changes on one', async ({ cluster: [a, b, c] }) => {
    const onA = await a.connect('carol');
    const onC = await c.connect('carol');
    expect(await b.api.as(b.token('carol')).ok('subscribeMe', { params: { topic: 'alerts' } })).toEqual({ topics: ['alerts'] });
    await eventually(async () => (await a.herald.io.in('topic:alerts').fetchSockets()).length === 2);
    const both = Promise.all([nextEvent<Notification>(onA.socket, 'notification'), nextEvent<Notification>(onC.socket, 'notification')]);
    await publish(b, { to: { topic: 'alerts' }, title: 'disk full' });
    expect((await both).map((n) => n.title)).toEqual(['disk full', 'disk full']);
  });

  test('counts presence and admin totals over every node', async ({ cluster: [a, b, c] }) => {
    await a.connect('dave');
    await b.connect('dave');
    await c.connect('erin');
    const presence = await c.api.as(token(c, 'svc', ['publisher'])).ok('getUserPresence', { params: { userId: 'dave' } });
    expect(presence).toEqual({ online: true, connections: 2 });
    await eventually(async () => (await stats(b)).connections === 3);
    const total = await stats(b);
    expect(total.nodes.map((n) => n.id).sort()).toEqual(['node-a', 'node-b', 'node-c']);
    expect(total.nodes.every((n) => n.healthy)).toBe(true);
    expect(total.nodes.map((n) => n.connections).reduce((x, y) => x + y)).toBe(3);
  });

  test('lists rooms and connections of every node, page by page', async ({ cluster: [a, b, c] }) => {
    await a.connect('frank');
    await b.connect('frank');
    await c.connect('gina');
    const rooms = await admin(a).ok('listRooms', { query: { prefix: 'user:' } });
    expect(rooms.items).toEqual([
      { name: 'user:frank', kind: 'user', size: 2 },
      { name: 'user:gina', kind: 'user', size: 1 },
    ]);
    const seen: ConnectionInfo[] = [];
    let cursor: string | null = null;
    do {
      const page: Page<ConnectionInfo> = await admin(c).ok('listConnections', { query: { limit: 1, ...(cursor ? { cursor } : {}) } });
      expect(page.partial).toBeUndefined();
      seen.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.map((s) => `${s.userId}@${s.node}`).sort()).toEqual(['frank@node-a', 'frank@node-b', 'gina@node-c']);
    const onB = await admin(a).ok('listConnections', { query: { node: 'node-b' } });
    expect(onB.items.map((s) => s.userId)).toEqual(['frank']);
  });

  test('disconnects a socket or a user from any node', async ({ cluster: [a, b, c] }) => {
    const h1 = await b.connect('hank');
    const h2 = await c.connect('hank');
    const other = await c.connect('ivy');
    const gone = nextEvent(h1.socket, 'disconnect');
    await admin(a).ok('disconnectSocket', { params: { socketId: h1.ready.socketId } });
    await gone;
    await admin(a).refused('disconnectSocket', { params: { socketId: 'no-such-socket' } }, 404, 'not_found');
    const rest = nextEvent(h2.socket, 'disconnect');
    expect(await admin(a).ok('disconnectUser', { params: { userId: 'hank' } })).toEqual({ disconnected: 1 });
    await rest;
    expect(other.socket.connected).toBe(true);
  });

  test('replays an idempotent publish from another node without a second delivery', async ({ cluster: [a, b, c] }) => {
    const jo = await a.connect('jo');
    const seen = collect<Notification>(jo.socket, 'notification');
    const body: PublishInput = { to: { user: 'jo' }, title: 'once' };
    const first = await publish(b, body, { 'Idempotency-Key': 'k-1' });
    const again = await publish(c, body, { 'Idempotency-Key': 'k-1' });
    expect(again).toEqual(first);
    // The same key through two nodes at the same moment: one notification.
    const [x, y] = await Promise.all([publish(b, body, { 'Idempotency-Key': 'k-2' }), publish(c, body, { 'Idempotency-Key': 'k-2' })]);
    expect(x).toEqual(y);
    await sleep(200);
    expect(seen.map((n) => n.id)).toEqual([first.id, x.id]);
  });

  describe('with a cap of two connections per user', () => {
    test.override('heraldEnv', { MAX_CONNECTIONS_PER_USER: '2' });

    // The fixture waits until each node has seen the others' heartbeats: the cap counts the sockets on the nodes a node knows of.
    test('caps connections per user over the whole cluster', async ({ cluster: [a, b, c] }) => {
      await a.connect('kim');
      await b.connect('kim');
      await expect(c.connect('kim')).rejects.toMatchObject({ message: 'forbidden', data: { code: 'too_many_connections' } });
    });
  });

  test('lets the README client page all of what ready.missed brings when it starts more than a page before lastSeq', async ({ cluster: [a, b, c], onTestFinished }) => {
    // In a cluster `missed` starts a seq-clock bucket (10 s) before lastSeq. Everything below is
    // published within one bucket, after the nodes have ticked the one before: missed starts at
    // the first entry, 250 below lastSeq. A client that paged on from lastSeq rather than from the
    // last entry paged skipped entries 101-250, which it may never have had live.
    const bucketMs = 10_000;
    if (Date.now() % bucketMs > bucketMs - 3000) await sleep(bucketMs - (Date.now() % bucketMs) + 200);
    for (let batch = 0; batch < 3; batch++) {
      const notifications = Array.from({ length: 100 }, (_, i) => ({ to: { user: 'alice' }, title: `n${batch * 100 + i}` }));
      await a.api.as(token(a, 'svc', ['publisher'])).ok('publishBatch', { body: { notifications } });
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
      onTestFinished(() => void client.close());
    });
    expect((await ready).missed[0]!.seq).toBe(all[0]!.seq);
    await eventually(() => shown.size === 300, 5000);
    expect(all.filter((n) => !shown.has(n.id))).toEqual([]);
  });
});
