import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Notification } from '../protocol/notification.js';
import type { ReadyPayload } from '../protocol/events.js';
import type { Target } from '../protocol/requests.js';
import { emitAck, nextEvent, startServer, type TestServer } from './helpers.js';

type SyncAck = { ok: true; items: Notification[]; hasMore: boolean } | { ok: false; error: { code: string; message: string } };

describe('recovery after a reconnect', () => {
  let server: TestServer;
  let publisher: string;

  /** Publishes to `to` and resolves the id. */
  async function publish(to: Target, title = 'hello'): Promise<string> {
    return (await server.publish({ to, title })).id;
  }

  /** Publishes `n` notifications to alice through batches and resolves the ids in order. */
  async function publishToAlice(n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let start = 0; start < n; start += 100) {
      const notifications = Array.from({ length: Math.min(100, n - start) }, (_, i) => ({ to: { user: 'alice' }, title: `n${start + i}` }));
      const { results } = await server.api.as(publisher).ok('publishBatch', { body: { notifications } });
      ids.push(...results.map((r) => ('id' in r ? r.id : 'refused')));
    }
    return ids;
  }

  /** Alice's whole feed, oldest first, through REST. */
  async function wholeFeed(): Promise<Notification[]> {
    const items: Notification[] = [];
    let after = 0;
    for (;;) {
      const res = await server.request('GET', `/api/me/notifications?after=${after}&limit=100`, { token: server.token('alice') });
      const page = (await res.json()) as { items: Notification[]; nextCursor: number | null };
      items.push(...page.items);
      if (page.nextCursor === null) return items;
      after = page.nextCursor;
    }
  }

  beforeEach(async () => {
    server = await startServer();
    publisher = server.token('svc', { roles: ['publisher'] });
  });
  afterEach(async () => {
    await server.close();
  });

  it('sends ready with the user, socket, node, topics and unread count, and nothing missed without lastSeq', async () => {
    await publishToAlice(3);
    await publish({ all: true });
    const sub = await server.request('PUT', '/api/me/subscriptions/news', { token: server.token('alice') });
    expect(sub.status).toBe(200);
    const { socket, ready } = await server.connect('alice');
    expect(ready).toEqual({
      userId: 'alice',
      socketId: socket.id,
      node: server.config.nodeId,
      topics: ['news'],
      unreadCount: 4,
      missed: [],
      hasMore: false,
    });
  });

  it('sends in ready.missed the feed entries after lastSeq, oldest first, as the feed shows them', async () => {
    await publishToAlice(2);
    await publish({ all: true }, 'everyone');
    await publishToAlice(2);
    await publish({ user: 'bob' }, 'not alice');
    const feed = await wholeFeed();
    expect(feed).toHaveLength(5);
    const { ready } = await server.connect('alice', { lastSeq: feed[1]!.seq });
    expect(ready.missed).toEqual(feed.slice(2));
    expect(ready.hasMore).toBe(false);
    const fromZero = await server.connect('alice', { lastSeq: 0 });
    expect(fromZero.ready.missed).toEqual(feed);
    const upToDate = await server.connect('alice', { lastSeq: feed[4]!.seq });
    expect(upToDate.ready.missed).toEqual([]);
  });

  it('sends at most 100 missed entries with hasMore, and sync pages the rest without a gap', async () => {
    const ids = await publishToAlice(230);
    const { socket, ready } = await server.connect('alice', { lastSeq: 0 });
    expect(ready.missed).toHaveLength(100);
    expect(ready.hasMore).toBe(true);
    const got = [...ready.missed];
    let hasMore = ready.hasMore;
    let pages = 0;
    while (hasMore && pages < 20) {
      const ack = await emitAck<SyncAck>(socket, 'sync', { afterSeq: got.at(-1)!.seq, limit: 60 });
      if (!ack.ok) throw new Error(`sync failed: ${ack.error.code}`);
      expect(ack.items.length).toBeLessThanOrEqual(60);
      got.push(...ack.items);
      hasMore = ack.hasMore;
      pages++;
    }
    expect(pages).toBe(3);
    expect(got.map((n) => n.id)).toEqual(ids);
    const seqs = got.map((n) => n.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(230);
  });

  it('pages sync 100 at a time when no limit is given', async () => {
    await publishToAlice(150);
    const { socket } = await server.connect('alice');
    const ack = await emitAck<SyncAck>(socket, 'sync', { afterSeq: 0 });
    expect(ack).toMatchObject({ ok: true, hasMore: true });
    expect(ack.ok && ack.items).toHaveLength(100);
  });

  it('answers a malformed sync with invalid_payload', async () => {
    const { socket } = await server.connect('alice');
    for (const payload of [{}, { afterSeq: -1 }, { afterSeq: 'x' }, { afterSeq: 0, limit: 101 }, { afterSeq: 0, limit: 0 }, { afterSeq: 1.5 }]) {
      const ack = await emitAck<SyncAck>(socket, 'sync', payload);
      expect(ack, JSON.stringify(payload)).toMatchObject({ ok: false, error: { code: 'invalid_payload', message: expect.any(String) } });
    }
    expect(socket.connected).toBe(true);
  });

  it('gives a reconnecting client with an auth function exactly what it missed while disconnected', async () => {
    const token = server.token('alice');
    let lastSeq = 0;
    const live: Notification[] = [];
    const readies: ReadyPayload[] = [];
    const { socket, ready } = await server.connect('alice', {
      reconnection: true,
      reconnectionDelay: 400,
      reconnectionDelayMax: 400,
      randomizationFactor: 0,
      auth: (cb: (auth: object) => void) => cb({ token, lastSeq }),
    });
    const track = (n: Notification) => (lastSeq = Math.max(lastSeq, n.seq));
    socket.on('notification', (n) => {
      live.push(n);
      track(n);
    });
    socket.on('ready', (r) => readies.push(r));
    expect(ready.missed).toEqual([]);

    const before = [await publish({ user: 'alice' }, 'live 1'), await publish({ all: true }, 'live 2')];
    await expect.poll(() => live.map((n) => n.id)).toEqual(before);

    const seenBefore = lastSeq;
    expect(seenBefore).toBeGreaterThan(0);
    const gone = nextEvent(socket, 'disconnect');
    socket.io.engine.close();
    await gone;
    const whileAway = [await publish({ user: 'alice' }, 'away 1'), await publish({ all: true }, 'away 2'), await publish({ user: 'alice' }, 'away 3')];
    const again = await nextEvent<ReadyPayload>(socket, 'ready', 5000);

    expect(again.missed.map((n) => n.id)).toEqual(whileAway);
    expect(again.missed.every((n) => n.seq > seenBefore && n.readAt === null)).toBe(true);
    expect(again.hasMore).toBe(false);
    expect(again.socketId).toBe(socket.id);
    expect(live.map((n) => n.id)).toEqual(before);
    again.missed.forEach(track);

    // Live delivery resumes on the new connection.
    const next = nextEvent<Notification>(socket, 'notification');
    const after = await publish({ user: 'alice' }, 'after the reconnect');
    expect((await next).id).toBe(after);
    expect(readies).toHaveLength(1);
  });
});
