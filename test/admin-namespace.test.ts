import { io as connectClient, type Socket } from 'socket.io-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AdminStats, RecentNotification } from '../protocol/admin.js';
import type { AdminClientToServerEvents, AdminReadyPayload, AdminServerToClientEvents } from '../protocol/events.js';
import { connectError, eventually, nextEvent, sleep, startServer, type TestServer } from './helpers.js';

type AdminClient = Socket<AdminServerToClientEvents, AdminClientToServerEvents>;

const INTERVAL_MS = 100;

describe('admin namespace /admin', () => {
  let server: TestServer;
  const admins = new Set<AdminClient>();

  beforeEach(async () => {
    server = await startServer({ ADMIN_STATS_INTERVAL_MS: String(INTERVAL_MS) });
  });
  afterEach(async () => {
    for (const socket of admins) socket.disconnect();
    admins.clear();
    await server.close();
  });

  const openAdmin = (token: string | undefined): AdminClient => {
    const socket: AdminClient = connectClient(`${server.url}/admin`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: token === undefined ? {} : { token },
    });
    admins.add(socket);
    return socket;
  };
  const connectAdmin = async (roles: string[]) => {
    const socket = openAdmin(server.token('ops', { roles }));
    const ready = await nextEvent<AdminReadyPayload>(socket as unknown as Socket, 'ready');
    return { socket, ready };
  };
  const nextStats = (socket: AdminClient, ms = 2000) => nextEvent<AdminStats>(socket as unknown as Socket, 'stats', ms);

  it('refuses a plain user, a publisher and a missing token with a connect_error', async () => {
    for (const roles of [[], ['publisher']]) {
      const err = await connectError(openAdmin(server.token('mallory', { roles })) as unknown as Socket);
      expect(err.message).toBe('forbidden');
      expect(err.data?.code).toBe('forbidden');
    }
    const missing = await connectError(openAdmin(undefined) as unknown as Socket);
    expect(missing.message).toBe('unauthorized');
    expect(missing.data?.code).toBe('token_missing');
  });

  it('refuses an expired admin token as unauthorized with token_expired', async () => {
    const err = await connectError(openAdmin(server.token('ops', { roles: ['admin'], expiresIn: -10 })) as unknown as Socket);
    expect(err.message).toBe('unauthorized');
    expect(err.data?.code).toBe('token_expired');
  });

  it('accepts admin and admin:read, telling each whether it may act', async () => {
    const admin = await connectAdmin(['admin']);
    expect(admin.ready).toMatchObject({ userId: 'ops', canAct: true, node: server.config.nodeId, statsIntervalMs: INTERVAL_MS });
    expect(admin.ready.roles).toContain('admin');
    const reader = await connectAdmin(['admin:read']);
    expect(reader.ready).toMatchObject({ canAct: false, roles: ['admin:read'] });
    expect(Array.isArray(reader.ready.history)).toBe(true);
    expect(Array.isArray(reader.ready.recent)).toBe(true);
  });

  it('does not count admin sockets as user connections', async () => {
    await connectAdmin(['admin']);
    const res = await server.request('GET', '/api/admin/stats', { token: server.token('ops', { roles: ['admin'] }) });
    expect(((await res.json()) as AdminStats).connections).toBe(0);
  });

  it('pushes stats at ADMIN_STATS_INTERVAL_MS in the shape of GET /api/admin/stats', async () => {
    const { socket } = await connectAdmin(['admin:read']);
    await nextStats(socket);
    const started = Date.now();
    const pushed: AdminStats[] = [];
    socket.on('stats', (stats) => pushed.push(stats));
    await eventually(() => pushed.length >= 4, 3000);
    const perPush = (Date.now() - started) / pushed.length;
    expect(perPush).toBeGreaterThan(INTERVAL_MS * 0.5);
    expect(perPush).toBeLessThan(INTERVAL_MS * 3);

    const res = await server.request('GET', '/api/admin/stats', { token: server.token('ops', { roles: ['admin:read'] }) });
    const rest = (await res.json()) as AdminStats;
    const shape = (value: unknown): unknown =>
      Array.isArray(value) ? value.map(shape) : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)])) : typeof value;
    expect(shape(pushed.at(-1))).toEqual(shape(rest));
  });

  it('pushes connection counts that follow user sockets connecting and leaving', async () => {
    const { socket } = await connectAdmin(['admin']);
    const seen = async (connections: number, users: number) => {
      for (;;) {
        const stats = await nextStats(socket);
        if (stats.connections === connections && stats.users === users) return stats;
      }
    };
    const alice = await server.connect('alice');
    await server.connect('alice');
    await server.connect('bob');
    const stats = await seen(3, 2);
    expect(stats.nodes[0]).toMatchObject({ id: server.config.nodeId, connections: 3 });
    alice.socket.disconnect();
    await seen(2, 2);
  });

  it('pushes notifications published since the previous push, with target and publisher', async () => {
    const { socket } = await connectAdmin(['admin:read']);
    const batches: RecentNotification[][] = [];
    socket.on('notifications', ({ items }) => batches.push(items));
    const publisher = server.token('billing', { roles: ['publisher'] });
    const res = await server.request('POST', '/api/notifications', {
      token: publisher,
      body: { to: { users: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] }, type: 'order.shipped', title: 'Shipped', body: 'not kept' },
    });
    expect(res.status).toBe(202);
    await eventually(() => batches.length > 0, 2000);
    const [item] = batches.flat();
    expect(item).toMatchObject({
      type: 'order.shipped',
      title: 'Shipped',
      publisher: 'billing',
      target: { kind: 'users', count: 7, names: ['a', 'b', 'c', 'd', 'e'] },
    });
    expect(item).not.toHaveProperty('body');

    const late = await connectAdmin(['admin']);
    expect(late.ready.recent.map((n) => n.title)).toEqual(['Shipped']);
  });

  it('sends auth:expired and disconnects an admin socket whose token runs out', async () => {
    // `exp` is in whole seconds: expiresIn 1 may end before the handshake. With 2 it is 1-2 s away.
    const socket = openAdmin(server.token('ops', { roles: ['admin'], expiresIn: 2 }));
    await nextEvent(socket as unknown as Socket, 'ready');
    const expired = nextEvent<{ code: string }>(socket as unknown as Socket, 'auth:expired', 4000);
    const gone = nextEvent(socket as unknown as Socket, 'disconnect', 4000);
    expect(await expired).toEqual({ code: 'token_expired' });
    await gone;
  });

  it('stops pushing once the server closes and disconnects admin sockets', async () => {
    const { socket } = await connectAdmin(['admin']);
    const gone = nextEvent(socket as unknown as Socket, 'disconnect');
    await server.herald.close();
    await gone;
    await sleep(INTERVAL_MS * 2);
    expect(socket.connected).toBe(false);
  });
});
