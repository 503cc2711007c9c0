import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AdminStats, ConnectionInfo, Page, RoomInfo } from '../protocol/admin.js';
import { eventually, nextEvent, startServer, type TestClient, type TestServer } from './helpers.js';

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

  const getJson = async <T>(route: string, token = admin): Promise<T> => {
    const res = await server.request('GET', route, { token });
    expect(res.status, route).toBe(200);
    return (await res.json()) as T;
  };
  const stats = () => getJson<AdminStats>('/api/admin/stats');
  const subscribe = async (userId: string, topic: string) => {
    const res = await server.request('PUT', `/api/users/${userId}/subscriptions/${topic}`, { token: admin });
    expect(res.status).toBe(200);
  };
  const disconnected = (socket: TestClient) => (socket.connected ? nextEvent(socket, 'disconnect') : Promise.resolve());

  /** Follows `nextCursor` from the first page to the last, returning every item seen. */
  const allPages = async <T>(route: string, limit: number): Promise<{ items: T[]; pages: number }> => {
    const items: T[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const sep = route.includes('?') ? '&' : '?';
      const page: Page<T> = await getJson<Page<T>>(`${route}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
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

    const res = await server.request('POST', '/api/notifications', { token: admin, body: { to: { user: 'alice' }, title: 'hi' } });
    expect(res.status).toBe(202);
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

    const first = await getJson<Page<RoomInfo>>('/api/admin/rooms', reader);
    expect(first.nextCursor).toBeNull();
    expect(first.items[0]).toEqual({ name: 'topic:everyone', kind: 'topic', size: 5 });
    expect(first.items).toContainEqual({ name: 'user:big', kind: 'user', size: 3 });
    expect(first.items).toContainEqual({ name: 'topic:solo', kind: 'topic', size: 1 });
    const sizes = first.items.map((r) => r.size);
    expect(sizes).toEqual([...sizes].sort((x, y) => y - x));
    expect(first.items.map((r) => r.name).sort()).toEqual(['topic:everyone', 'topic:solo', 'user:big', 'user:mid', 'user:small']);

    const topics = await getJson<Page<RoomInfo>>('/api/admin/rooms?prefix=topic:');
    expect(topics.items.map((r) => r.name)).toEqual(['topic:everyone', 'topic:solo']);

    const paged = await allPages<RoomInfo>('/api/admin/rooms', 2);
    expect(paged.pages).toBe(3);
    expect(paged.items.map((r) => r.name)).toEqual(first.items.map((r) => r.name));
  });

  it('lists connections with their details, filtered by user, room and node', async () => {
    const a = await server.connect('alice', { extraHeaders: { 'user-agent': 'herald-test/1.0' } });
    await server.connect('alice');
    const b = await server.connect('bob');
    await subscribe('bob', 'news');

    const all = await getJson<Page<ConnectionInfo>>('/api/admin/connections', reader);
    expect(all.items).toHaveLength(3);
    expect(all.nextCursor).toBeNull();
    const first = all.items.find((c) => c.socketId === a.ready.socketId);
    expect(first).toMatchObject({ userId: 'alice', rooms: ['user:alice'], transport: 'websocket', userAgent: 'herald-test/1.0', node: server.config.nodeId });
    expect(first?.address).toMatch(/127\.0\.0\.1/);
    expect(Date.parse(first?.connectedAt ?? '')).toBeGreaterThan(Date.now() - 60_000);

    const ofAlice = await getJson<Page<ConnectionInfo>>('/api/admin/connections?user=alice');
    expect(ofAlice.items.map((c) => c.userId)).toEqual(['alice', 'alice']);
    const inNews = await getJson<Page<ConnectionInfo>>('/api/admin/connections?room=topic:news');
    expect(inNews.items.map((c) => c.socketId)).toEqual([b.ready.socketId]);
    expect(inNews.items[0]?.rooms.sort()).toEqual(['topic:news', 'user:bob']);
    const onNode = await getJson<Page<ConnectionInfo>>(`/api/admin/connections?node=${encodeURIComponent(server.config.nodeId)}`);
    expect(onNode.items).toHaveLength(3);
    const elsewhere = await getJson<Page<ConnectionInfo>>('/api/admin/connections?node=no-such-node');
    expect(elsewhere).toEqual({ items: [], nextCursor: null });
    const nobody = await getJson<Page<ConnectionInfo>>('/api/admin/connections?user=nobody');
    expect(nobody.items).toEqual([]);
  });

  it('pages through connections with a cursor, covering each connection exactly once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await server.connect(`u${i % 2}`)).ready.socketId);
    const paged = await allPages<ConnectionInfo>('/api/admin/connections', 2);
    expect(paged.pages).toBe(3);
    expect(paged.items.map((c) => c.socketId).sort()).toEqual([...ids].sort());
    const ofU0 = await allPages<ConnectionInfo>('/api/admin/connections?user=u0', 1);
    expect(ofU0.items.map((c) => c.socketId).sort()).toEqual([ids[0], ids[2], ids[4]].sort());
  });

  it('disconnects one socket with DELETE /api/admin/connections/:socketId and answers 404 for an unknown id', async () => {
    const target = await server.connect('alice');
    const other = await server.connect('alice');
    const gone = disconnected(target.socket);
    const res = await server.request('DELETE', `/api/admin/connections/${target.ready.socketId}`, { token: admin });
    expect(res.status).toBe(204);
    await gone;
    expect(target.socket.connected).toBe(false);
    expect(other.socket.connected).toBe(true);
    await eventually(async () => (await stats()).connections === 1);

    const unknown = await server.request('DELETE', '/api/admin/connections/no-such-socket', { token: admin });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('disconnects every socket of a user with DELETE /api/admin/users/:userId/connections and leaves other users connected', async () => {
    const sockets = [await server.connect('alice'), await server.connect('alice')];
    const bob = await server.connect('bob');
    const gone = Promise.all(sockets.map((s) => disconnected(s.socket)));
    const res = await server.request('DELETE', '/api/admin/users/alice/connections', { token: admin });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ disconnected: 2 });
    await gone;
    await eventually(async () => (await stats()).connections === 1);
    expect(bob.socket.connected).toBe(true);
    const left = await getJson<Page<ConnectionInfo>>('/api/admin/connections');
    expect(left.items.map((c) => c.userId)).toEqual(['bob']);

    const none = await server.request('DELETE', '/api/admin/users/alice/connections', { token: admin });
    expect(await none.json()).toEqual({ disconnected: 0 });
  });

  it('lets admin:read view stats, rooms and connections but refuses both disconnects with 403', async () => {
    const alice = await server.connect('alice');
    for (const route of ['/api/admin/stats', '/api/admin/rooms', '/api/admin/connections']) await getJson(route, reader);
    for (const route of [`/api/admin/connections/${alice.ready.socketId}`, '/api/admin/users/alice/connections']) {
      const res = await server.request('DELETE', route, { token: reader });
      expect(res.status, route).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    }
    expect(alice.socket.connected).toBe(true);
    expect((await stats()).connections).toBe(1);
  });

  it('refuses every admin route to plain users and publishers with 403', async () => {
    const alice = await server.connect('alice');
    for (const token of [server.token('alice'), server.token('svc', { roles: ['publisher'] })]) {
      for (const [method, route] of [
        ['GET', '/api/admin/stats'],
        ['GET', '/api/admin/rooms'],
        ['GET', '/api/admin/connections'],
        ['DELETE', `/api/admin/connections/${alice.ready.socketId}`],
        ['DELETE', '/api/admin/users/alice/connections'],
      ] as const) {
        const res = await server.request(method, route, { token });
        expect(res.status, `${method} ${route}`).toBe(403);
      }
    }
    expect(alice.socket.connected).toBe(true);
  });
});

describe('client addresses', () => {
  it('lists the X-Forwarded-For address of a client behind a local proxy, and the peer otherwise', async () => {
    const server = await startServer();
    try {
      // A client-written hop on the left, the address a proxy appended, then an inner proxy.
      const proxied = await server.connect('pat', { extraHeaders: { 'x-forwarded-for': '198.51.100.1, 203.0.113.7, 10.0.0.2' } });
      await server.connect('quinn');
      const admin = server.token('ops', { roles: ['admin'] });
      const page = (await (await server.request('GET', '/api/admin/connections', { token: admin })).json()) as Page<ConnectionInfo>;
      const byUser = Object.fromEntries(page.items.map((c) => [c.userId, c.address]));
      expect(byUser).toEqual({ pat: '203.0.113.7', quinn: '127.0.0.1' });
      expect(proxied.socket.connected).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('keeps the address, user agent and deliveries of a client that started on long-polling and upgraded to WebSocket', async () => {
    const server = await startServer();
    try {
      const { socket, ready } = await server.connect('polly', {
        transports: ['polling', 'websocket'],
        extraHeaders: { 'x-forwarded-for': '203.0.113.9', 'user-agent': 'herald-test/polling' },
      });
      await eventually(() => socket.io.engine.transport.name === 'websocket');
      const admin = server.token('ops', { roles: ['admin'] });
      const page = (await (await server.request('GET', '/api/admin/connections?user=polly', { token: admin })).json()) as Page<ConnectionInfo>;
      expect(page.items).toEqual([expect.objectContaining({ socketId: ready.socketId, transport: 'websocket', address: '203.0.113.9', userAgent: 'herald-test/polling' })]);
      const received = nextEvent<{ title: string }>(socket, 'notification');
      const res = await server.request('POST', '/api/notifications', {
        token: server.token('svc', { roles: ['publisher'] }),
        body: { to: { user: 'polly' }, title: 'after the upgrade' },
      });
      expect(res.status).toBe(202);
      expect(await received).toMatchObject({ title: 'after the upgrade' });
    } finally {
      await server.close();
    }
  });
});
