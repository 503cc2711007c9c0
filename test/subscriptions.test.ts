import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Notification } from '../protocol/notification.js';
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

  const publish = async (to: object, title: string) => {
    const res = await server.request('POST', '/api/notifications', { token: publisher, body: { to, title } });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  };

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
    for (const [method, topic] of [['PUT', '-bad'], ['PUT', 'x'.repeat(129)], ['PUT', 'a b'], ['PUT', ' '], ['DELETE', '-bad']] as const) {
      const res = await server.request(method, `/api/me/subscriptions/${encodeURIComponent(topic)}`, { token });
      expect(res.status, `${method} ${topic.slice(0, 10)}`).toBe(422);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_topic');
    }
    expect(await (await server.request('GET', '/api/me/subscriptions', { token })).json()).toEqual({ topics: [] });
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
    const token = server.token('ivan', { topics });
    expect((await server.request('PUT', '/api/me/subscriptions/team.42.build', { token })).status).toBe(200);
    for (const topic of ['team.43.x', 'team.42.']) {
      const res = await server.request('PUT', `/api/me/subscriptions/${topic}`, { token });
      expect(res.status, topic).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    }
    const list = await server.request('GET', '/api/me/subscriptions', { token });
    expect(await list.json()).toEqual({ topics: ['team.42.alerts', 'team.42.build'] });
  });

  it('manages the caller’s topics with PUT, GET and DELETE /api/me/subscriptions, applied to live sockets at once', async () => {
    const { socket } = await server.connect('judy');
    const token = server.token('judy');
    const pushed = nextEvent<{ topics: string[] }>(socket, 'subscriptions');
    const put = await server.request('PUT', '/api/me/subscriptions/sports', { token });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({ topics: ['sports'] });
    expect(await pushed).toEqual({ topics: ['sports'] });
    expect(await (await server.request('PUT', '/api/me/subscriptions/art', { token })).json()).toEqual({ topics: ['art', 'sports'] });
    expect(await (await server.request('PUT', '/api/me/subscriptions/art', { token })).json()).toEqual({ topics: ['art', 'sports'] });
    expect(await (await server.request('GET', '/api/me/subscriptions', { token })).json()).toEqual({ topics: ['art', 'sports'] });
    expect(await topicTitlesSeenBy(socket, 'judy', 'sports')).toEqual(['on sports']);

    const del = await server.request('DELETE', '/api/me/subscriptions/sports', { token });
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ topics: ['art'] });
    expect(await topicTitlesSeenBy(socket, 'judy', 'sports')).toEqual([]);
  });

  it('lets a publisher or an admin manage another user’s topics, joining and leaving that user’s live sockets at once', async () => {
    const one = await server.connect('kate');
    const two = await server.connect('kate');
    const admin = server.token('root', { roles: ['admin'] });
    const pushed = nextEvent<{ topics: string[] }>(two.socket, 'subscriptions');
    const put = await server.request('PUT', '/api/users/kate/subscriptions/ops', { token: publisher });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({ topics: ['ops'] });
    expect(await pushed).toEqual({ topics: ['ops'] });
    expect(await topicTitlesSeenBy(one.socket, 'kate', 'ops')).toEqual(['on ops']);
    expect(await topicTitlesSeenBy(two.socket, 'kate', 'ops')).toEqual(['on ops']);
    expect(await (await server.request('GET', '/api/users/kate/subscriptions', { token: admin })).json()).toEqual({ topics: ['ops'] });

    const del = await server.request('DELETE', '/api/users/kate/subscriptions/ops', { token: admin });
    expect(await del.json()).toEqual({ topics: [] });
    expect(await topicTitlesSeenBy(one.socket, 'kate', 'ops')).toEqual([]);
    expect(await topicTitlesSeenBy(two.socket, 'kate', 'ops')).toEqual([]);
  });

  it('refuses a plain user managing another user’s topics with 403', async () => {
    const token = server.token('mallory');
    for (const [method, route] of [
      ['GET', '/api/users/kate/subscriptions'],
      ['PUT', '/api/users/kate/subscriptions/ops'],
      ['DELETE', '/api/users/kate/subscriptions/ops'],
    ] as const) {
      const res = await server.request(method, route, { token });
      expect(res.status, `${method} ${route}`).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    }
    const kate = server.token('kate');
    expect(await (await server.request('GET', '/api/me/subscriptions', { token: kate })).json()).toEqual({ topics: [] });
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

  const presence = async (userId: string, token: string) => {
    const res = await server.request('GET', `/api/presence/users/${userId}`, { token });
    expect(res.status).toBe(200);
    return (await res.json()) as { online: boolean; connections: number };
  };

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
    const res = await server.request('GET', '/api/presence/users/lena', { token: server.token('nosy') });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
  });
});
