import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Notification } from '../protocol/notification.js';
import { collect, emitAck, eventually, nextEvent, sleep, startServer, type TestServer } from './helpers.js';

interface Published {
  id: string;
  createdAt: string;
  streams: number;
}

/** How long a test waits to be sure that something was NOT delivered. */
const QUIET_MS = 300;

describe('publishing', () => {
  let server: TestServer;
  let publisher: string;
  beforeEach(async () => {
    server = await startServer();
    publisher = server.token('svc', { roles: ['publisher'] });
  });
  afterEach(async () => {
    await server.close();
  });

  const publish = (body: unknown, token = publisher) => server.request('POST', '/api/notifications', { token, body });

  it('delivers a user notification to every socket of that user, with the same id and seq', async () => {
    const a = await server.connect('bob');
    const b = await server.connect('bob');
    const gotA = nextEvent<Notification>(a.socket, 'notification');
    const gotB = nextEvent<Notification>(b.socket, 'notification');
    const res = await publish({ to: { user: 'bob' }, title: 'Your order shipped', data: { orderId: 42 } });
    expect(res.status).toBe(202);
    const body = (await res.json()) as Published;
    expect(body.streams).toBe(1);
    const [na, nb] = await Promise.all([gotA, gotB]);
    expect(na.id).toBe(body.id);
    expect(nb).toEqual(na);
    expect(na).toMatchObject({ stream: 'user:bob', type: 'message', title: 'Your order shipped', data: { orderId: 42 }, readAt: null });
  });

  it('answers 202 with exactly the id, createdAt and number of streams', async () => {
    const { socket } = await server.connect('bob');
    const got = nextEvent<Notification>(socket, 'notification');
    const res = await publish({ to: { user: 'bob' }, type: 'order.shipped', title: 'Shipped', body: 'It arrives Tuesday.' });
    expect(res.status).toBe(202);
    const body = (await res.json()) as Published;
    expect(Object.keys(body).sort()).toEqual(['createdAt', 'id', 'streams']);
    expect(body.id).toMatch(/^ntf_[0-9A-Z]{26}$/);
    expect(new Date(body.createdAt).toISOString()).toBe(body.createdAt);
    expect(Math.abs(Date.parse(body.createdAt) - Date.now())).toBeLessThan(10_000);
    const n = await got;
    expect(n).toMatchObject({ id: body.id, createdAt: body.createdAt, type: 'order.shipped', body: 'It arrives Tuesday.' });
  });

  it('gives "message" as the type when the publisher sends none', async () => {
    await publish({ to: { user: 'zoe' }, title: 'Hello' });
    const feed = await server.api.as(server.token('zoe')).ok('getMyFeed', {});
    expect(feed.items.map((n) => n.type)).toEqual(['message']);
  });

  it('delivers to each listed user with one id and a user stream and seq of their own', async () => {
    const alice = await server.connect('alice');
    const bob = await server.connect('bob');
    const carol = await server.connect('carol');
    const toCarol = collect<Notification>(carol.socket, 'notification');
    const gotAlice = nextEvent<Notification>(alice.socket, 'notification');
    const gotBob = nextEvent<Notification>(bob.socket, 'notification');
    const res = await publish({ to: { users: ['alice', 'bob'] }, title: 'Standup in 5' });
    const body = (await res.json()) as Published;
    expect(body.streams).toBe(2);
    const [na, nb] = await Promise.all([gotAlice, gotBob]);
    expect([na.id, nb.id]).toEqual([body.id, body.id]);
    expect([na.stream, nb.stream]).toEqual(['user:alice', 'user:bob']);
    expect(na.seq).not.toBe(nb.seq);
    await sleep(QUIET_MS);
    expect(toCarol).toEqual([]);
  });

  it('counts a user listed twice once and delivers to them once', async () => {
    const { socket } = await server.connect('alice');
    const seen = collect<Notification>(socket, 'notification');
    const res = await publish({ to: { users: ['alice', 'bob', 'alice'] }, title: 'Once' });
    expect(((await res.json()) as Published).streams).toBe(2);
    await sleep(QUIET_MS);
    expect(seen.map((n) => n.title)).toEqual(['Once']);
  });

  it('accepts 1,000 users in one request and refuses 1,001 with 422', async () => {
    const users = Array.from({ length: 1001 }, (_, i) => `user-${i}`);
    const { socket } = await server.connect('user-999');
    const got = nextEvent<Notification>(socket, 'notification');
    const ok = await publish({ to: { users: users.slice(0, 1000) }, title: 'Many' });
    expect(ok.status).toBe(202);
    expect(((await ok.json()) as Published).streams).toBe(1000);
    expect((await got).stream).toBe('user:user-999');

    const tooMany = await publish({ to: { users }, title: 'Too many' });
    expect(tooMany.status).toBe(422);
    expect(((await tooMany.json()) as { error: { code: string } }).error.code).toBe('invalid_payload');
  });

  it('delivers a topic notification only to the sockets of subscribed users', async () => {
    // alice subscribes over REST while connected, bob over his socket, dave over REST before connecting.
    const alice = await server.connect('alice');
    const bob = await server.connect('bob');
    const carol = await server.connect('carol');
    expect(await server.api.as(server.token('alice')).ok('subscribeMe', { params: { topic: 'news.eu' } })).toEqual({ topics: ['news.eu'] });
    expect(await emitAck(bob.socket, 'subscribe', { topic: 'news.eu' })).toEqual({ ok: true, topics: ['news.eu'] });
    await server.api.as(server.token('dave')).ok('subscribeMe', { params: { topic: 'news.eu' } });
    const dave = await server.connect('dave');
    expect(dave.ready.topics).toEqual(['news.eu']);

    const toCarol = collect<Notification>(carol.socket, 'notification');
    const got = [alice, bob, dave].map((c) => nextEvent<Notification>(c.socket, 'notification'));
    const res = await publish({ to: { topic: 'news.eu' }, title: 'Breaking' });
    const body = (await res.json()) as Published;
    expect(body.streams).toBe(1);
    for (const n of await Promise.all(got)) expect(n).toMatchObject({ id: body.id, stream: 'topic:news.eu', title: 'Breaking' });
    await sleep(QUIET_MS);
    expect(toCarol).toEqual([]);
  });

  it('delivers a notification to all to every connected user on the broadcast stream', async () => {
    const clients = await Promise.all(['alice', 'bob', 'carol'].map((u) => server.connect(u)));
    const got = clients.map((c) => nextEvent<Notification>(c.socket, 'notification'));
    const res = await publish({ to: { all: true }, title: 'Maintenance at noon' });
    expect(res.status).toBe(202);
    const body = (await res.json()) as Published;
    expect(body.streams).toBe(1);
    const seen = await Promise.all(got);
    for (const n of seen) expect(n).toMatchObject({ id: body.id, stream: 'broadcast', title: 'Maintenance at noon' });
    expect(new Set(seen.map((n) => n.seq)).size).toBe(1);
  });

  it('gives increasing seqs to consecutive publishes', async () => {
    const { socket } = await server.connect('bob');
    const seen = collect<Notification>(socket, 'notification');
    for (const title of ['one', 'two', 'three']) {
      await publish({ to: { user: 'bob' }, title });
      await publish({ to: { user: 'carol' }, title });
    }
    await eventually(() => seen.length >= 3);
    expect(seen.map((n) => n.title)).toEqual(['one', 'two', 'three']);
    expect(seen[0]!.seq).toBeLessThan(seen[1]!.seq);
    expect(seen[1]!.seq).toBeLessThan(seen[2]!.seq);
  });

  it('keeps a notification for an offline user, who finds it in the feed later', async () => {
    const res = await publish({ to: { user: 'zoe' }, title: 'While you were away', data: { n: 1 } });
    const { id } = (await res.json()) as Published;
    const broadcast = (await (await publish({ to: { all: true }, title: 'To everyone' })).json()) as Published;
    const feed = await server.api.as(server.token('zoe')).ok('getMyFeed', {});
    expect(feed.items.map((n) => n.id)).toEqual([broadcast.id, id]);
    expect(feed.items[1]).toMatchObject({ stream: 'user:zoe', title: 'While you were away', data: { n: 1 }, readAt: null });
    expect(feed.unreadCount).toBe(2);
  });
});

describe('who may publish', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it.each([
    ['a user without roles', []],
    ['an admin:read user', ['admin:read']],
  ])('refuses %s with 403 forbidden, on both routes', async (_who, roles) => {
    const someone = server.api.as(server.token('someone', { roles }));
    await someone.refused('publishNotification', { body: { to: { user: 'bob' }, title: 'x' } }, 403, 'forbidden');
    await someone.refused('publishBatch', { body: { notifications: [{ to: { user: 'bob' }, title: 'x' }] } }, 403, 'forbidden');
    const feed = await server.api.as(server.token('bob')).ok('getMyFeed', {});
    expect(feed.items).toEqual([]);
  });

  it.each([
    ['a publisher', 'publisher'],
    ['an admin', 'admin'],
  ])('lets %s publish', async (_who, role) => {
    await server.api.as(server.token('svc', { roles: [role] })).ok('publishNotification', { body: { to: { user: 'bob' }, title: 'x' } });
  });

  it('refuses a caller without a token with 401 token_missing', async () => {
    await server.api.refused('publishNotification', { body: { to: { user: 'bob' }, title: 'x' } }, 401, 'token_missing');
  });
});

describe('rate limiting publishers', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer({ API_RATE_PER_SEC: '2', API_RATE_BURST: '3' });
  });
  afterEach(async () => {
    await server.close();
  });

  it('answers 429 rate_limited with an integer Retry-After once the burst is spent, and lets the caller in after it', async () => {
    const token = server.token('svc', { roles: ['publisher'] });
    const send = () => server.request('POST', '/api/notifications', { token, body: { to: { user: 'bob' }, title: 'x' } });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await send()).status);
    expect(statuses).toEqual([202, 202, 202]);
    const limited = await send();
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    const retryAfter = limited.headers.get('retry-after');
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    await sleep(Number(retryAfter) * 1000);
    expect((await send()).status).toBe(202);
  });

  it('does not slow down another caller when one is limited', async () => {
    const greedy = server.token('greedy', { roles: ['publisher'] });
    const polite = server.token('polite', { roles: ['publisher'] });
    const body = { to: { user: 'bob' }, title: 'x' };
    const greedyStatuses = await Promise.all(Array.from({ length: 6 }, () => server.request('POST', '/api/notifications', { token: greedy, body }).then((r) => r.status)));
    expect(greedyStatuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(2);
    const res = await server.request('POST', '/api/notifications', { token: polite, body });
    expect(res.status).toBe(202);
  });
});
