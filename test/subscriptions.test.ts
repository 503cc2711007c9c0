import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Notification } from '../protocol/notification.js';
import type { Target } from '../protocol/requests.js';
import { emitAck, eventually, nextEvent, startServer, type TestClient, type TestServer } from './helpers.js';

type TopicsAck = { ok: true; topics: string[] } | { ok: false; error: { code: string; message: string } };

describe('topic subscriptions', () => {
  let server: TestServer;
  let publisher: string;
  beforeEach(async () => {
    server = await startServer();
    publisher = server.token('svc', { roles: ['publisher'] });
  });
  afterEach(async () => {
    await server.close();
  });

  const publish = async (to: Target, title: string) => (await server.publish({ to, title })).id;

  /**
   * Publishes to `topic`, then a marker to the user: once the marker arrived,
   * anything the topic would have delivered to this socket has arrived too.
   */
  const topicTitlesSeenBy = async (socket: TestClient, userId: string, topic: string): Promise<string[]> => {
    const seen: Notification[] = [];
    const record = (n: Notification) => seen.push(n);
    socket.on('notification', record);
    try {
      await publish({ topic }, `on ${topic}`);
      await publish({ user: userId }, 'marker');
      await eventually(() => seen.some((n) => n.title === 'marker'));
    } finally {
      socket.off('notification', record);
    }
    return seen.filter((n) => n.stream === `topic:${topic}`).map((n) => n.title);
  };

  it('acknowledges a socket subscribe with the topics and makes every socket of the user, earlier ones too, join at once', async () => {
    const earlier = await server.connect('carol');
    const later = await server.connect('carol');
    const pushedEarlier = nextEvent<{ topics: string[] }>(earlier.socket, 'subscriptions');
    const pushedLater = nextEvent<{ topics: string[] }>(later.socket, 'subscriptions');
    const ack = await emitAck<TopicsAck>(later.socket, 'subscribe', { topic: 'news' });
    expect(ack).toEqual({ ok: true, topics: ['news'] });
    expect(await pushedEarlier).toEqual({ topics: ['news'] });
    expect(await pushedLater).toEqual({ topics: ['news'] });

    const gotEarlier = nextEvent<Notification>(earlier.socket, 'notification');
    const gotLater = nextEvent<Notification>(later.socket, 'notification');
    const id = await publish({ topic: 'news' }, 'Breaking');
    const [a, b] = await Promise.all([gotEarlier, gotLater]);
    expect(a).toMatchObject({ id, stream: 'topic:news', title: 'Breaking' });
    expect(b.id).toBe(id);
  });

  it('joins a new socket of a subscribed user to its topics on connect and lists them in ready', async () => {
    const token = server.token('dave');
    const put = await server.request('PUT', '/api/me/subscriptions/alerts.db', { token });
    expect(await put.json()).toEqual({ topics: ['alerts.db'] });
    const { socket, ready } = await server.connect('dave');
    expect(ready.topics).toEqual(['alerts.db']);
    expect(await topicTitlesSeenBy(socket, 'dave', 'alerts.db')).toEqual(['on alerts.db']);
  });

  it('stops delivering a topic to every socket of the user after unsubscribe', async () => {
    const first = await server.connect('erin');
    const second = await server.connect('erin');
    expect(await emitAck<TopicsAck>(first.socket, 'subscribe', { topic: 'deploys' })).toEqual({ ok: true, topics: ['deploys'] });
    expect(await topicTitlesSeenBy(second.socket, 'erin', 'deploys')).toEqual(['on deploys']);

    const pushed = nextEvent<{ topics: string[] }>(second.socket, 'subscriptions');
    expect(await emitAck<TopicsAck>(first.socket, 'unsubscribe', { topic: 'deploys' })).toEqual({ ok: true, topics: [] });
    expect(await pushed).toEqual({ topics: [] });
    expect(await topicTitlesSeenBy(first.socket, 'erin', 'deploys')).toEqual([]);
    expect(await topicTitlesSeenBy(second.socket, 'erin', 'deploys')).toEqual([]);
  });

  it('answers a subscribe whose payload is not {topic} with invalid_payload', async () => {
    const { socket } = await server.connect('frank');
    for (const payload of [{}, 42, { topic: 7 }]) {
      const ack = await emitAck<TopicsAck>(socket, 'subscribe', payload);
      expect(ack, JSON.stringify(payload)).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    }
    const unsub = await emitAck<TopicsAck>(socket, 'unsubscribe', {});
    expect(unsub).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
  });

  it('answers invalid topic names with invalid_topic, on the socket and over REST', async () => {
    const { socket } = await server.connect('gina');
    const token = server.token('gina');
    for (const topic of ['-bad', 'x'.repeat(129), 'a b', '']) {
      const ack = await emitAck<TopicsAck>(socket, 'subscribe', { topic });
      expect(ack, `socket ${topic.slice(0, 10)}`).toMatchObject({ ok: false, error: { code: 'invalid_topic' } });
    }
    // An empty path segment cannot reach the route; a lone space is the closest REST can send.
    const me = server.api.as(token);
    for (const [id, topic] of [['subscribeMe', '-bad'], ['subscribeMe', 'x'.repeat(129)], ['subscribeMe', 'a b'], ['subscribeMe', ' '], ['unsubscribeMe', '-bad']] as const) {
      await me.refused(id, { params: { topic } }, 422, 'invalid_topic');
    }
    expect(await me.ok('getMySubscriptions', {})).toEqual({ topics: [] });
  });

  it('accepts a 128-character topic name', async () => {
    const { socket } = await server.connect('hank');
    const topic = 'a'.repeat(128);
    expect(await emitAck<TopicsAck>(socket, 'subscribe', { topic })).toEqual({ ok: true, topics: [topic] });
  });

  it('limits subscriptions to the patterns of the topics claim, on the socket and over REST', async () => {
    const topics = ['team.42.*'];
    const { socket } = await server.connect('ivan', { topics });
    expect(await emitAck<TopicsAck>(socket, 'subscribe', { topic: 'team.42.alerts' })).toEqual({ ok: true, topics: ['team.42.alerts'] });
    for (const topic of ['team.43.x', 'team.42.']) {
      const ack = await emitAck<TopicsAck>(socket, 'subscribe', { topic });
      expect(ack, topic).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    }
    const ivan = server.api.as(server.token('ivan', { topics }));
    await ivan.ok('subscribeMe', { params: { topic: 'team.42.build' } });
    for (const topic of ['team.43.x', 'team.42.']) await ivan.refused('subscribeMe', { params: { topic } }, 403, 'forbidden');
    expect(await ivan.ok('getMySubscriptions', {})).toEqual({ topics: ['team.42.alerts', 'team.42.build'] });
  });

  it('manages the caller’s topics with PUT, GET and DELETE /api/me/subscriptions, applied to live sockets at once', async () => {
    const { socket } = await server.connect('judy');
    const judy = server.api.as(server.token('judy'));
    const pushed = nextEvent<{ topics: string[] }>(socket, 'subscriptions');
    expect(await judy.ok('subscribeMe', { params: { topic: 'sports' } })).toEqual({ topics: ['sports'] });
    expect(await pushed).toEqual({ topics: ['sports'] });
    expect(await judy.ok('subscribeMe', { params: { topic: 'art' } })).toEqual({ topics: ['art', 'sports'] });
    expect(await judy.ok('subscribeMe', { params: { topic: 'art' } })).toEqual({ topics: ['art', 'sports'] });
    expect(await judy.ok('getMySubscriptions', {})).toEqual({ topics: ['art', 'sports'] });
    expect(await topicTitlesSeenBy(socket, 'judy', 'sports')).toEqual(['on sports']);

    expect(await judy.ok('unsubscribeMe', { params: { topic: 'sports' } })).toEqual({ topics: ['art'] });
    expect(await topicTitlesSeenBy(socket, 'judy', 'sports')).toEqual([]);
  });

  it('lets a publisher or an admin manage another user’s topics, joining and leaving that user’s live sockets at once', async () => {
    const one = await server.connect('kate');
    const two = await server.connect('kate');
    const admin = server.api.as(server.token('root', { roles: ['admin'] }));
    const pushed = nextEvent<{ topics: string[] }>(two.socket, 'subscriptions');
    const kate = { params: { userId: 'kate', topic: 'ops' } };
    expect(await server.api.as(publisher).ok('subscribeUser', kate)).toEqual({ topics: ['ops'] });
    expect(await pushed).toEqual({ topics: ['ops'] });
    expect(await topicTitlesSeenBy(one.socket, 'kate', 'ops')).toEqual(['on ops']);
    expect(await topicTitlesSeenBy(two.socket, 'kate', 'ops')).toEqual(['on ops']);
    expect(await admin.ok('getUserSubscriptions', { params: { userId: 'kate' } })).toEqual({ topics: ['ops'] });

    expect(await admin.ok('unsubscribeUser', kate)).toEqual({ topics: [] });
    expect(await topicTitlesSeenBy(one.socket, 'kate', 'ops')).toEqual([]);
    expect(await topicTitlesSeenBy(two.socket, 'kate', 'ops')).toEqual([]);
  });

  it('refuses a plain user managing another user’s topics with 403', async () => {
    const mallory = server.api.as(server.token('mallory'));
    const params = { userId: 'kate', topic: 'ops' };
    for (const id of ['getUserSubscriptions', 'subscribeUser', 'unsubscribeUser'] as const) await mallory.refused(id, { params }, 403, 'forbidden');
    expect(await server.api.as(server.token('kate')).ok('getMySubscriptions', {})).toEqual({ topics: [] });
  });
});

describe('presence', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer();
  });
  afterEach(async () => {
    await server.close();
  });

  const presence = (userId: string, token: string) => server.api.as(token).ok('getUserPresence', { params: { userId } });

  it('tracks a user’s connections as sockets connect and leave', async () => {
    const token = server.token('svc', { roles: ['publisher'] });
    expect(await presence('lena', token)).toEqual({ online: false, connections: 0 });
    const a = await server.connect('lena');
    expect(await presence('lena', token)).toEqual({ online: true, connections: 1 });
    const b = await server.connect('lena');
    expect(await presence('lena', server.token('root', { roles: ['admin'] }))).toEqual({ online: true, connections: 2 });
    a.socket.disconnect();
    await eventually(async () => (await presence('lena', token)).connections === 1);
    b.socket.disconnect();
    await eventually(async () => !(await presence('lena', token)).online);
    expect(await presence('lena', token)).toEqual({ online: false, connections: 0 });
  });

  it('refuses presence to a plain user with 403', async () => {
    await server.connect('lena');
    await server.api.as(server.token('nosy')).refused('getUserPresence', { params: { userId: 'lena' } }, 403, 'forbidden');
  });
});
