import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectionInfo, Page, RoomInfo } from '../protocol/admin.js';
import { eventually, nextEvent, startServer, type TestClient, type TestServer } from './helpers.js';
import { test } from './kit/fixtures.js';

describe('admin REST API', () => {
  let server: TestServer;
  let admin: string;
  let reader: string;
  beforeEach(async () => {
    server = await startServer();
    admin = server.token('root', { roles: ['admin'] });
    reader = server.token('watcher', { roles: ['admin:read'] });
  });
  afterEach(async () => {
    await server.close();
  });

  const as = (token = admin) => server.api.as(token);
  const stats = () => as().ok('getAdminStats', {});
  const rooms = (query: { prefix?: string; limit?: number; cursor?: string } = {}, token = admin) => as(token).ok('listRooms', { query });
  const connections = (query: { user?: string; room?: string; node?: string; limit?: number; cursor?: string } = {}, token = admin) =>
    as(token).ok('listConnections', { query });
  const subscribe = (userId: string, topic: string) => as().ok('subscribeUser', { params: { userId, topic } });
  const disconnected = (socket: TestClient) => (socket.connected ? nextEvent(socket, 'disconnect') : Promise.resolve());

  /** Follows `nextCursor` from the first page to the last, returning every item seen. */
  const allPages = async <T>(list: (cursor: string | undefined) => Promise<Page<T>>, limit: number): Promise<{ items: T[]; pages: number }> => {
    const items: T[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Page<T> = await list(cursor ?? undefined);
      expect(page.items.length).toBeLessThanOrEqual(limit);
      items.push(...page.items);
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages < 50);
    return { items, pages };
  };

  it('reports stats whose counts rise and fall with connections, topics and notifications', async () => {
    const before = await stats();
    expect(before).toMatchObject({ connections: 0, users: 0, rooms: 0, topics: 0, notifications: { published: 0, delivered: 0 } });
    expect(before.nodes).toHaveLength(1);
    expect(before.nodes[0]).toMatchObject({ id: server.config.nodeId, connections: 0 });
    expect(typeof before.notifications.ratePerSec).toBe('number');

    const a1 = await server.connect('alice');
    const a2 = await server.connect('alice');
    await server.connect('bob');
    await subscribe('bob', 'news');
    expect(await stats()).toMatchObject({ connections: 3, users: 2, topics: 1, rooms: 3 });
    expect((await stats()).nodes[0]?.connections).toBe(3);

    await as().ok('publishNotification', { body: { to: { user: 'alice' }, title: 'hi' } });
    await eventually(async () => (await stats()).notifications.published === 1);
    expect((await stats()).notifications).toMatchObject({ published: 1, delivered: 2 });
    await eventually(async () => (await stats()).notifications.ratePerSec > 0);

    a1.socket.disconnect();
    a2.socket.disconnect();
    await eventually(async () => (await stats()).connections === 1);
    expect(await stats()).toMatchObject({ connections: 1, users: 1, topics: 1, rooms: 2 });
  });

  it('lists rooms largest first, filters them by prefix and pages through each room exactly once', async () => {
    for (let i = 0; i < 3; i++) await server.connect('big');
    for (let i = 0; i < 2; i++) await server.connect('mid');
    await server.connect('small');
    await subscribe('big', 'everyone');
    await subscribe('mid', 'everyone');
    await subscribe('small', 'solo');

    const first = await rooms({}, reader);
    expect(first.nextCursor).toBeNull();
    expect(first.items[0]).toEqual({ name: 'topic:everyone', kind: 'topic', size: 5 });
    expect(first.items).toContainEqual({ name: 'user:big', kind: 'user', size: 3 });
    expect(first.items).toContainEqual({ name: 'topic:solo', kind: 'topic', size: 1 });
    const sizes = first.items.map((r) => r.size);
    expect(sizes).toEqual([...sizes].sort((x, y) => y - x));
    expect(first.items.map((r) => r.name).sort()).toEqual(['topic:everyone', 'topic:solo', 'user:big', 'user:mid', 'user:small']);

    const topics = await rooms({ prefix: 'topic:' });
    expect(topics.items.map((r) => r.name)).toEqual(['topic:everyone', 'topic:solo']);

    const paged = await allPages<RoomInfo>((cursor) => rooms({ limit: 2, cursor }), 2);
    expect(paged.pages).toBe(3);
    expect(paged.items.map((r) => r.name)).toEqual(first.items.map((r) => r.name));
  });

  it('lists connections with their details, filtered by user, room and node', async () => {
    const a = await server.connect('alice', { extraHeaders: { 'user-agent': 'herald-test/1.0' } });
    await server.connect('alice');
    const b = await server.connect('bob');
    await subscribe('bob', 'news');

    const all = await connections({}, reader);
    expect(all.items).toHaveLength(3);
    expect(all.nextCursor).toBeNull();
    const first = all.items.find((c) => c.socketId === a.ready.socketId);
    expect(first).toMatchObject({ userId: 'alice', rooms: ['user:alice'], transport: 'websocket', userAgent: 'herald-test/1.0', node: server.config.nodeId });
    expect(first?.address).toMatch(/127\.0\.0\.1/);
    expect(Date.parse(first?.connectedAt ?? '')).toBeGreaterThan(Date.now() - 60_000);

    const ofAlice = await connections({ user: 'alice' });
    expect(ofAlice.items.map((c) => c.userId)).toEqual(['alice', 'alice']);
    const inNews = await connections({ room: 'topic:news' });
    expect(inNews.items.map((c) => c.socketId)).toEqual([b.ready.socketId]);
    expect(inNews.items[0]?.rooms.sort()).toEqual(['topic:news', 'user:bob']);
    const onNode = await connections({ node: server.config.nodeId });
    expect(onNode.items).toHaveLength(3);
    const elsewhere = await connections({ node: 'no-such-node' });
    expect(elsewhere).toEqual({ items: [], nextCursor: null });
    const nobody = await connections({ user: 'nobody' });
    expect(nobody.items).toEqual([]);
  });

  it('pages through connections with a cursor, covering each connection exactly once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await server.connect(`u${i % 2}`)).ready.socketId);
    const paged = await allPages<ConnectionInfo>((cursor) => connections({ limit: 2, cursor }), 2);
    expect(paged.pages).toBe(3);
    expect(paged.items.map((c) => c.socketId).sort()).toEqual([...ids].sort());
    const ofU0 = await allPages<ConnectionInfo>((cursor) => connections({ user: 'u0', limit: 1, cursor }), 1);
    expect(ofU0.items.map((c) => c.socketId).sort()).toEqual([ids[0], ids[2], ids[4]].sort());
  });

  it('disconnects one socket with DELETE /api/admin/connections/:socketId and answers 404 for an unknown id', async () => {
    const target = await server.connect('alice');
    const other = await server.connect('alice');
    const gone = disconnected(target.socket);
    await as().ok('disconnectSocket', { params: { socketId: target.ready.socketId } });
    await gone;
    expect(target.socket.connected).toBe(false);
    expect(other.socket.connected).toBe(true);
    await eventually(async () => (await stats()).connections === 1);

    await as().refused('disconnectSocket', { params: { socketId: 'no-such-socket' } }, 404, 'not_found');
  });

  it('disconnects every socket of a user with DELETE /api/admin/users/:userId/connections and leaves other users connected', async () => {
    const sockets = [await server.connect('alice'), await server.connect('alice')];
    const bob = await server.connect('bob');
    const gone = Promise.all(sockets.map((s) => disconnected(s.socket)));
    expect(await as().ok('disconnectUser', { params: { userId: 'alice' } })).toEqual({ disconnected: 2 });
    await gone;
    await eventually(async () => (await stats()).connections === 1);
    expect(bob.socket.connected).toBe(true);
    const left = await connections();
    expect(left.items.map((c) => c.userId)).toEqual(['bob']);

    expect(await as().ok('disconnectUser', { params: { userId: 'alice' } })).toEqual({ disconnected: 0 });
  });

  it('lets admin:read view stats, rooms and connections but refuses both disconnects with 403', async () => {
    const alice = await server.connect('alice');
    for (const id of ['getAdminStats', 'listRooms', 'listConnections'] as const) await as(reader).ok(id, {});
    await as(reader).refused('disconnectSocket', { params: { socketId: alice.ready.socketId } }, 403, 'forbidden');
    await as(reader).refused('disconnectUser', { params: { userId: 'alice' } }, 403, 'forbidden');
    expect(alice.socket.connected).toBe(true);
    expect((await stats()).connections).toBe(1);
  });

  it('refuses every admin route to plain users and publishers with 403', async () => {
    const alice = await server.connect('alice');
    for (const token of [server.token('alice'), server.token('svc', { roles: ['publisher'] })]) {
      for (const id of ['getAdminStats', 'listRooms', 'listConnections'] as const) await as(token).refused(id, {}, 403, 'forbidden');
      await as(token).refused('disconnectSocket', { params: { socketId: alice.ready.socketId } }, 403, 'forbidden');
      await as(token).refused('disconnectUser', { params: { userId: 'alice' } }, 403, 'forbidden');
    }
    expect(alice.socket.connected).toBe(true);
  });
});

describe('client addresses', () => {
  test('lists the X-Forwarded-For address of a client behind a local proxy, and the peer otherwise', async ({ herald }) => {
    // A client-written hop on the left, the address a proxy appended, then an inner proxy.
    const proxied = await herald.connect('pat', { extraHeaders: { 'x-forwarded-for': '198.51.100.1, 203.0.113.7, 10.0.0.2' } });
    await herald.connect('quinn');
    const page = await herald.api.as(herald.token('ops', { roles: ['admin'] })).ok('listConnections', {});
    const byUser = Object.fromEntries(page.items.map((c) => [c.userId, c.address]));
    expect(byUser).toEqual({ pat: '203.0.113.7', quinn: '127.0.0.1' });
    expect(proxied.socket.connected).toBe(true);
  });

  test('keeps the address, user agent and deliveries of a client that started on long-polling and upgraded to WebSocket', async ({ herald }) => {
    const { socket, ready } = await herald.connect('polly', {
      transports: ['polling', 'websocket'],
      extraHeaders: { 'x-forwarded-for': '203.0.113.9', 'user-agent': 'herald-test/polling' },
    });
    await eventually(() => socket.io.engine.transport.name === 'websocket');
    const page = await herald.api.as(herald.token('ops', { roles: ['admin'] })).ok('listConnections', { query: { user: 'polly' } });
    expect(page.items).toEqual([expect.objectContaining({ socketId: ready.socketId, transport: 'websocket', address: '203.0.113.9', userAgent: 'herald-test/polling' })]);
    const received = nextEvent<{ title: string }>(socket, 'notification');
    await herald.publish({ to: { user: 'polly' }, title: 'after the upgrade' });
    expect(await received).toMatchObject({ title: 'after the upgrade' });
  });
});
