import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Notification } from '../protocol/notification.js';
import { collect, eventually, sleep, startServer, type TestServer } from './helpers.js';
import { errorOf, idOf } from './kit/api.js';

/** How long a test waits to be sure that something was NOT delivered. */
const QUIET_MS = 300;

describe('publishing a batch', () => {
  let server: TestServer;
  let publisher: string;
  beforeEach(async () => {
    server = await startServer();
    publisher = server.token('svc', { roles: ['publisher'] });
  });
  afterEach(async () => {
    await server.close();
  });

  /** A batch the route accepts (202, whatever its items): its results. */
  const batch = async (notifications: unknown[]) => (await server.api.as(publisher).ok('publishBatch', { body: { notifications } })).results;
  const feedOf = async (user: string) => (await server.api.as(server.token(user)).ok('getMyFeed', {})).items;

  it('answers 202 with one result per item in order, an id for each valid item and a field-naming error for each invalid one', async () => {
    const results = await batch([
      { to: { user: 'bob' }, title: 'first' },
      { to: { user: 'bob' }, body: 'no title' },
      { to: { user: 'carol' }, title: 'third', type: 'order.shipped' },
      { to: { user: 'bob' }, title: 'bad type', type: 'Not Valid' },
      'not an object',
    ]);
    expect(results).toHaveLength(5);
    expect(results[0]).toEqual({ id: expect.stringMatching(/^ntf_/) });
    expect(results[2]).toEqual({ id: expect.stringMatching(/^ntf_/) });
    expect(idOf(results[0])).not.toBe(idOf(results[2]));

    const titleError = errorOf(results[1]);
    expect(titleError.code).toBe('invalid_payload');
    expect(titleError.message).toContain('notifications.1.title');
    expect(titleError.details?.map((d) => d.field)).toContain('notifications.1.title');

    const typeError = errorOf(results[3]);
    expect(typeError.code).toBe('invalid_payload');
    expect(typeError.message).toContain('notifications.3.type');

    const notObject = errorOf(results[4]);
    expect(notObject.code).toBe('invalid_payload');
    expect(notObject.message).toContain('notifications.4');
  });

  it('delivers the valid items and nothing for the invalid ones', async () => {
    const bob = await server.connect('bob');
    const carol = await server.connect('carol');
    const toBob = collect<Notification>(bob.socket, 'notification');
    const toCarol = collect<Notification>(carol.socket, 'notification');
    const results = await batch([
      { to: { user: 'bob' }, title: 'for bob' },
      { to: { user: 'bob' }, title: 'x'.repeat(201) },
      { to: { user: 'carol' }, title: 'for carol' },
      { to: { user: 'carol' }, title: 'stray', extra: true },
    ]);
    await eventually(() => toBob.length >= 1 && toCarol.length >= 1);
    await sleep(QUIET_MS);
    expect(toBob.map((n) => [n.id, n.title])).toEqual([[idOf(results[0]), 'for bob']]);
    expect(toCarol.map((n) => [n.id, n.title])).toEqual([[idOf(results[2]), 'for carol']]);
    expect((await feedOf('bob')).map((n) => n.title)).toEqual(['for bob']);
  });

  it('stores the items in the order given, with increasing seqs', async () => {
    const titles = ['one', 'two', 'three', 'four'];
    const results = await batch(titles.map((title) => ({ to: { user: 'bob' }, title })));
    const feed = (await feedOf('bob')).reverse(); // the feed is newest first
    expect(feed.map((n) => n.title)).toEqual(titles);
    expect(feed.map((n) => n.id)).toEqual(results.map(idOf));
    for (let i = 1; i < feed.length; i++) expect(feed[i]!.seq).toBeGreaterThan(feed[i - 1]!.seq);
  });

  it('delivers batch items to users, topics and everyone alike', async () => {
    const alice = await server.connect('alice');
    await server.api.as(server.token('alice')).ok('subscribeMe', { params: { topic: 'deploys' } });
    const seen = collect<Notification>(alice.socket, 'notification');
    await batch([
      { to: { users: ['alice', 'bob'] }, title: 'users' },
      { to: { topic: 'deploys' }, title: 'topic' },
      { to: { all: true }, title: 'all' },
    ]);
    await eventually(() => seen.length >= 3);
    expect(seen.map((n) => [n.title, n.stream])).toEqual([
      ['users', 'user:alice'],
      ['topic', 'topic:deploys'],
      ['all', 'broadcast'],
    ]);
  });

  it('gives every item of a batch the same createdAt: the time the request was accepted', async () => {
    await server.close();
    let clock = Date.UTC(2026, 10, 21, 10, 0, 0);
    // A clock that moves on every reading: items stamped one by one would differ.
    server = await startServer({}, { now: () => clock++ });
    publisher = server.token('svc', { roles: ['publisher'] });
    await batch(['a', 'b', 'c'].map((title) => ({ to: { user: 'bob' }, title })));
    const feed = await feedOf('bob');
    expect(feed).toHaveLength(3);
    expect(new Set(feed.map((n) => n.createdAt)).size).toBe(1);
    expect(Date.parse(feed[0]!.createdAt)).toBeGreaterThanOrEqual(Date.UTC(2026, 10, 21, 10, 0, 0));
  });

  it('pushes one fresh unread count per user for a batch, after its notifications', async () => {
    const bob = await server.connect('bob');
    const events: [string, unknown][] = [];
    bob.socket.on('notification', (n) => events.push(['notification', n.title]));
    bob.socket.on('unread', (u) => events.push(['unread', u.unreadCount]));
    await batch([
      { to: { user: 'bob' }, title: 'one' },
      { to: { users: ['bob', 'carol'] }, title: 'two' },
      { to: { user: 'carol' }, title: 'not for bob' },
      { to: { user: 'bob' }, title: 'three' },
    ]);
    await eventually(() => events.some(([kind]) => kind === 'unread'));
    await sleep(QUIET_MS);
    expect(events).toEqual([
      ['notification', 'one'],
      ['notification', 'two'],
      ['notification', 'three'],
      ['unread', 3],
    ]);
  });

  it('answers 202 with only errors when every item is invalid, and delivers nothing', async () => {
    const { socket } = await server.connect('bob');
    const seen = collect<Notification>(socket, 'notification');
    const errors = (await batch([{ to: { user: 'bob' } }, { title: 'no target' }])).map(errorOf);
    expect(errors.map((e) => e.code)).toEqual(['invalid_payload', 'invalid_payload']);
    expect(errors[0]!.message).toContain('notifications.0.title');
    expect(errors[1]!.message).toContain('notifications.1.to');
    await sleep(QUIET_MS);
    expect(seen).toEqual([]);
  });

  it('accepts exactly 100 items', async () => {
    const results = await batch(Array.from({ length: 100 }, (_, i) => ({ to: { user: `u${i}` }, title: `n${i}` })));
    expect(results).toHaveLength(100);
    expect(new Set(results.map(idOf)).size).toBe(100);
    expect((await feedOf('u99')).map((n) => n.title)).toEqual(['n99']);
  });

  it.each([
    ['101 items', { notifications: Array.from({ length: 101 }, () => ({ to: { user: 'bob' }, title: 'x' })) }, 'notifications'],
    ['an empty list', { notifications: [] }, 'notifications'],
    ['no list at all', {}, 'notifications'],
    ['a list that is not an array', { notifications: { to: { user: 'bob' }, title: 'x' } }, 'notifications'],
  ])('refuses %s with 422 naming the field, and stores nothing', async (_what, body, field) => {
    const error = await server.api.as(publisher).refused('publishBatch', { body }, 422, 'invalid_payload');
    expect(error.details?.map((d) => d.field)).toContain(field);
    expect(await feedOf('bob')).toEqual([]);
  });
});
