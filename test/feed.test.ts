import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PublishInput, Target } from '../protocol/requests.js';
import { collect, emitAck, nextEvent, sleep, startServer, type TestServer } from './helpers.js';

describe('the feed (GET /api/me/notifications)', () => {
  let server: TestServer;
  let publisher: string;
  let alice: string;

  /** Publishes one notification and resolves its id. */
  async function publish(to: Target, title = 'hello', extra: Partial<PublishInput> = {}): Promise<string> {
    return (await server.publish({ to, title, ...extra })).id;
  }

  /** Publishes `n` notifications to alice, one after the other, and resolves their ids oldest first. */
  async function publishMany(n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(await publish({ user: 'alice' }, `n${i}`));
    return ids;
  }

  /** The feed, with the query given as it would be in the address (`?limit=3`). */
  async function feed(query = '', token = alice) {
    return server.api.as(token).ok('getMyFeed', { query: Object.fromEntries(new URLSearchParams(query)) });
  }

  beforeEach(async () => {
    server = await startServer();
    publisher = server.token('svc', { roles: ['publisher'] });
    alice = server.token('alice');
  });
  afterEach(async () => {
    await server.close();
  });

  it('lists the caller notifications newest first in the shape of a Notification', async () => {
    const ids = await publishMany(2);
    const third = await publish({ user: 'alice' }, 'Your order shipped', { type: 'order.shipped', body: 'It arrives Tuesday.', data: { orderId: 42 } });
    await publish({ user: 'bob' }, 'not for alice');
    const body = await feed();
    expect(body.items.map((i) => i.id)).toEqual([third, ids[1], ids[0]]);
    expect(body.items.map((i) => i.seq)).toEqual([...body.items.map((i) => i.seq)].sort((a, b) => b - a));
    expect(body.items[0]).toEqual({
      id: third,
      seq: expect.any(Number),
      stream: 'user:alice',
      type: 'order.shipped',
      title: 'Your order shipped',
      body: 'It arrives Tuesday.',
      data: { orderId: 42 },
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      readAt: null,
    });
    expect(body.unreadCount).toBe(3);
    expect(body.nextCursor).toBeNull();
  });

  it('pages through every item with limit, before and nextCursor, without a gap or a duplicate', async () => {
    const ids = await publishMany(7);
    const pages: string[][] = [];
    let cursor: number | null | undefined;
    do {
      const page = await feed(`?limit=3${cursor ? `&before=${cursor}` : ''}`);
      pages.push(page.items.map((i) => i.id));
      if (page.nextCursor !== null) expect(page.nextCursor).toBe(page.items.at(-1)!.seq);
      cursor = page.nextCursor;
    } while (cursor !== null && pages.length < 10);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual([...ids].reverse());
  });

  it('treats before as exclusive', async () => {
    await publishMany(3);
    const all = await feed();
    const below = await feed(`?before=${all.items[0]!.seq}`);
    expect(below.items.map((i) => i.id)).toEqual(all.items.slice(1).map((i) => i.id));
  });

  it('lists oldest first after a seq, with nextCursor to pass as the next after', async () => {
    const ids = await publishMany(7);
    const first = await feed('?after=0&limit=4');
    expect(first.items.map((i) => i.id)).toEqual(ids.slice(0, 4));
    expect(first.nextCursor).toBe(first.items.at(-1)!.seq);
    const second = await feed(`?after=${first.nextCursor}&limit=4`);
    expect(second.items.map((i) => i.id)).toEqual(ids.slice(4));
    expect(second.nextCursor).toBeNull();
  });

  it('returns 50 items by default and up to 100 when asked', async () => {
    const res = await server.request('POST', '/api/notifications/batch', {
      token: publisher,
      body: { notifications: Array.from({ length: 100 }, (_, i) => ({ to: { user: 'alice' }, title: `b${i}` })) },
    });
    expect(res.status).toBe(202);
    await publish({ user: 'alice' }, 'one more');
    const byDefault = await feed();
    expect(byDefault.items).toHaveLength(50);
    expect(byDefault.nextCursor).toBe(byDefault.items[49]!.seq);
    const most = await feed('?limit=100');
    expect(most.items).toHaveLength(100);
    expect(most.nextCursor).not.toBeNull();
  });

  it('refuses a limit above 100, below 1 or not a number with 422 naming limit', async () => {
    for (const limit of ['101', '0', 'many']) {
      const res = await server.request('GET', `/api/me/notifications?limit=${limit}`, { token: alice });
      expect(res.status).toBe(422);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('invalid_payload');
      expect(body.error.message).toContain('limit');
    }
  });

  it('refuses a request without a token with 401', async () => {
    const res = await server.request('GET', '/api/me/notifications');
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('token_missing');
  });

  it('holds the user stream, every broadcast, and a topic only from the moment of subscribing', async () => {
    const early = await publish({ all: true }, 'before alice appeared');
    const oldNews = await publish({ topic: 'news' }, 'news before subscribing');
    const sub = await server.request('PUT', '/api/me/subscriptions/news', { token: alice });
    expect(sub.status).toBe(200);
    expect(await sub.json()).toEqual({ topics: ['news'] });
    const news = await publish({ topic: 'news' }, 'news after subscribing');
    const sport = await publish({ topic: 'sport' }, 'a topic alice does not follow');
    const own = await publish({ user: 'alice' }, 'for alice');
    const others = await publish({ users: ['bob', 'carol'] }, 'for others');
    const body = await feed();
    const ids = body.items.map((i) => i.id);
    expect(ids).toEqual([own, news, early]);
    expect(ids).not.toContain(oldNews);
    expect(ids).not.toContain(sport);
    expect(ids).not.toContain(others);
    expect(body.items.map((i) => i.stream)).toEqual(['user:alice', 'topic:news', 'broadcast']);
    expect(body.unreadCount).toBe(3);
  });

  it('returns only unread items with unread=true', async () => {
    const ids = await publishMany(4);
    const read = await server.request('POST', '/api/me/notifications/read', { token: alice, body: { ids: [ids[1], ids[3]] } });
    expect(await read.json()).toEqual({ unreadCount: 2 });
    const unread = await feed('?unread=true');
    expect(unread.items.map((i) => i.id)).toEqual([ids[2], ids[0]]);
    expect(unread.unreadCount).toBe(2);
  });
});

describe('read state', () => {
  let server: TestServer;
  let alice: string;
  let ids: string[];

  beforeEach(async () => {
    server = await startServer();
    alice = server.token('alice');
    ids = [];
    for (const to of [{ user: 'alice' }, { user: 'alice' }, { all: true }] satisfies Target[]) ids.push((await server.publish({ to, title: 't' })).id);
  });
  afterEach(async () => {
    await server.close();
  });

  const feed = () => server.api.as(alice).ok('getMyFeed', {});

  it('marks ids read over REST, answers the new unread count and sets readAt', async () => {
    const before = Date.now();
    const res = await server.request('POST', '/api/me/notifications/read', { token: alice, body: { ids: [ids[0], ids[2], 'ntf_unknown'] } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ unreadCount: 1 });
    const body = await feed();
    const readAt = new Map(body.items.map((i) => [i.id, i.readAt]));
    expect(readAt.get(ids[1]!)).toBeNull();
    for (const id of [ids[0]!, ids[2]!]) {
      expect(Date.parse(readAt.get(id)!)).toBeGreaterThanOrEqual(before - 1000);
    }
    expect(body.unreadCount).toBe(1);
  });

  it('marks everything read over REST with all:true', async () => {
    const res = await server.request('POST', '/api/me/notifications/read', { token: alice, body: { all: true } });
    expect(await res.json()).toEqual({ unreadCount: 0 });
    const body = await feed();
    expect(body.items.every((i) => typeof i.readAt === 'string')).toBe(true);
    expect(body.unreadCount).toBe(0);
  });

  it('refuses malformed read requests with 422', async () => {
    for (const body of [{}, { ids: [] }, { ids: 'ntf_1' }, { ids: [42] }, { all: false }, { all: true, ids: [ids[0]] }, { ids: [ids[0]], extra: 1 }]) {
      const res = await server.request('POST', '/api/me/notifications/read', { token: alice, body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_payload');
    }
    expect((await feed()).unreadCount).toBe(3);
  });

  it('acknowledges a socket read with the new count and pushes unread to every socket of the user', async () => {
    const a = await server.connect('alice');
    const b = await server.connect('alice');
    const bob = await server.connect('bob');
    expect(a.ready.unreadCount).toBe(3);
    const onA = nextEvent<{ unreadCount: number }>(a.socket, 'unread');
    const onB = nextEvent<{ unreadCount: number }>(b.socket, 'unread');
    const bobUnread = collect(bob.socket, 'unread');
    const ack = await emitAck(a.socket, 'read', { ids: [ids[0]] });
    expect(ack).toEqual({ ok: true, unreadCount: 2 });
    expect(await onA).toEqual({ unreadCount: 2 });
    expect(await onB).toEqual({ unreadCount: 2 });
    const all = nextEvent<{ unreadCount: number }>(b.socket, 'unread');
    expect(await emitAck(a.socket, 'read', { all: true })).toEqual({ ok: true, unreadCount: 0 });
    expect(await all).toEqual({ unreadCount: 0 });
    await sleep(100);
    expect(bobUnread).toEqual([]);
  });

  it('pushes unread to the sockets of the user after a read over REST', async () => {
    const a = await server.connect('alice');
    const pushed = nextEvent<{ unreadCount: number }>(a.socket, 'unread');
    await server.request('POST', '/api/me/notifications/read', { token: alice, body: { ids: [ids[1]] } });
    expect(await pushed).toEqual({ unreadCount: 2 });
  });

  // Topic and broadcast fan-out does not push a per-recipient count (README: "Unread counts
  // and topic fan-out"): the live notification is the +1, and the server's count agrees.
  it('counts a broadcast or topic notification as one more unread without a per-recipient push', async () => {
    const { socket } = await server.connect('alice');
    expect(await emitAck(socket, 'subscribe', { topic: 'news' })).toMatchObject({ ok: true, topics: ['news'] });
    const pushes = collect<{ unreadCount: number }>(socket, 'unread');
    for (const [to, expected] of [[{ all: true }, 4], [{ topic: 'news' }, 5]] as const) {
      const live = nextEvent<{ readAt: null }>(socket, 'notification');
      await server.publish({ to, title: 't' });
      expect((await live).readAt).toBeNull();
      expect((await feed()).unreadCount, JSON.stringify(to)).toBe(expected);
    }
    expect(pushes).toEqual([]);
    // The next change that does push carries the full count, topic items included.
    const pushed = nextEvent<{ unreadCount: number }>(socket, 'unread');
    await server.publish({ to: { user: 'alice' }, title: 'direct' });
    expect(await pushed).toEqual({ unreadCount: 6 });
  });

  it('answers a malformed socket read with invalid_payload and changes nothing', async () => {
    const { socket } = await server.connect('alice');
    for (const payload of [{}, { ids: [] }, { all: 'yes' }, 'ids', null]) {
      const ack = await emitAck(socket, 'read', payload);
      expect(ack, JSON.stringify(payload)).toMatchObject({ ok: false, error: { code: 'invalid_payload', message: expect.any(String) } });
    }
    expect(socket.connected).toBe(true);
    expect((await feed()).unreadCount).toBe(3);
  });
});
