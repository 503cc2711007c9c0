import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NotificationRecord } from '../server/src/domain/notification.js';
import type { AppendItem, NotificationStore } from '../server/src/domain/notification-store.js';

/** A store under test, and how to throw it away. */
export interface StoreHandle {
  store: NotificationStore;
  cleanup(): Promise<void>;
}

/**
 * The clock the suite controls. A factory passes `now` to its store (SQLite's
 * `{ now }` option, Redis's equivalent) wherever the store reads the time.
 */
export interface StoreClock {
  now(): number;
}

const T0 = Date.UTC(2026, 10, 21, 10, 0, 0);
const DAY = 86_400_000;

let counter = 0;
/** A notification record with a unique id, created at `createdAt`. */
function record(title: string, createdAt = T0): NotificationRecord {
  counter++;
  return { id: `ntf_test_${String(counter).padStart(6, '0')}_${Math.random().toString(36).slice(2, 8)}`, type: 'message', title, createdAt };
}

/**
 * The NotificationStore contract, run against any implementation.
 *
 * @example
 * describeStore('SqliteStore', async (clock) => {
 *   const dataDir = mkdtempSync(path.join(tmpdir(), 'store-'));
 *   const store = new SqliteStore({ dataDir, now: clock.now });
 *   return { store, cleanup: async () => { await store.close(); rmSync(dataDir, { recursive: true }); } };
 * });
 */
export function describeStore(name: string, makeStore: (clock: StoreClock) => Promise<StoreHandle>): void {
  describe(`${name} (NotificationStore contract)`, () => {
    let handle: StoreHandle;
    let store: NotificationStore;
    let time = T0;
    const clock: StoreClock = { now: () => time };

    /** Appends one notification to `streams` and returns its record and seqs. */
    async function put(streams: string[], title = 'hello', createdAt = time) {
      const notification = record(title, createdAt);
      const [result] = await store.append([{ notification, streams }]);
      return { notification, seqs: result!.entries.map((e) => e.seq) };
    }

    beforeEach(async () => {
      time = T0;
      handle = await makeStore(clock);
      store = handle.store;
    });
    afterEach(async () => {
      await handle.cleanup();
    });

    it('answers its health check', async () => {
      await expect(store.check()).resolves.toBeUndefined();
    });

    it('returns one entry per stream, in the order of the streams, with seqs that increase across items', async () => {
      const items: AppendItem[] = [
        { notification: record('first'), streams: ['user:a', 'user:b', 'broadcast'] },
        { notification: record('second'), streams: ['topic:news'] },
      ];
      const [first, second] = await store.append(items);
      expect(first!.entries.map((e) => e.stream)).toEqual(['user:a', 'user:b', 'broadcast']);
      expect(second!.entries.map((e) => e.stream)).toEqual(['topic:news']);
      const seqs = [...first!.entries, ...second!.entries].map((e) => e.seq);
      expect(seqs.every((s) => Number.isSafeInteger(s) && s > 0)).toBe(true);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(seqs.length);
      const [later] = await store.append([{ notification: record('third'), streams: ['user:a'] }]);
      expect(later!.entries[0]!.seq).toBeGreaterThan(Math.max(...seqs));
    });

    it('stores a notification once and shows it in each recipient feed with that recipient seq and stream', async () => {
      const n = record('shared');
      n.body = 'one body';
      n.data = { orderId: 42, nested: { ok: true } };
      const [result] = await store.append([{ notification: n, streams: ['user:a', 'user:b'] }]);
      const [a, b] = await Promise.all([store.feed('a', { limit: 10 }), store.feed('b', { limit: 10 })]);
      expect(a.items).toEqual([
        { id: n.id, seq: result!.entries[0]!.seq, stream: 'user:a', type: 'message', title: 'shared', body: 'one body', data: n.data, createdAt: new Date(T0).toISOString(), readAt: null },
      ]);
      expect(b.items[0]).toMatchObject({ id: n.id, seq: result!.entries[1]!.seq, stream: 'user:b', body: 'one body' });
      // Removing both entries removes one notification: it was stored once.
      const removed = await store.prune(T0 + 1, 10_000, 0);
      expect(removed).toMatchObject({ entries: 2, notifications: 1 });
    });

    it('pages a feed newest first with an exclusive before, and oldest first with an exclusive after', async () => {
      const seqs: number[] = [];
      for (let i = 0; i < 7; i++) seqs.push((await put(['user:a'], `n${i}`)).seqs[0]!);
      const newest: number[] = [];
      let before: number | undefined;
      for (;;) {
        const page = await store.feed('a', { limit: 3, ...(before === undefined ? {} : { before }) });
        newest.push(...page.items.map((i) => i.seq));
        if (!page.hasMore) break;
        before = page.items.at(-1)!.seq;
      }
      expect(newest).toEqual([...seqs].reverse());
      const oldest: number[] = [];
      let after = 0;
      for (;;) {
        const page = await store.feed('a', { limit: 3, after });
        oldest.push(...page.items.map((i) => i.seq));
        if (!page.hasMore) break;
        after = page.items.at(-1)!.seq;
      }
      expect(oldest).toEqual(seqs);
      const exact = await store.feed('a', { limit: 7 });
      expect(exact).toMatchObject({ hasMore: false });
      expect((await store.feed('a', { limit: 2, after: seqs[4]! })).items.map((i) => i.seq)).toEqual(seqs.slice(5));
      expect((await store.feed('a', { limit: 10, before: seqs[2]! })).items.map((i) => i.seq)).toEqual([seqs[1], seqs[0]]);
    });

    it('merges the user stream, every broadcast and subscribed topics into one feed in seq order', async () => {
      const early = await put(['broadcast'], 'before the user existed');
      const mine = await put(['user:a'], 'mine');
      const other = await put(['user:b'], 'not mine');
      await store.subscribe('a', 'news');
      const news = await put(['topic:news'], 'news');
      const sport = await put(['topic:sport'], 'sport, not subscribed');
      const late = await put(['broadcast'], 'late broadcast');
      const feed = await store.feed('a', { limit: 50 });
      expect(feed.items.map((i) => i.seq)).toEqual([late.seqs[0], news.seqs[0], mine.seqs[0], early.seqs[0]]);
      expect(feed.items.map((i) => i.stream)).toEqual(['broadcast', 'topic:news', 'user:a', 'broadcast']);
      expect(feed.items.map((i) => i.id)).not.toContain(other.notification.id);
      expect(feed.items.map((i) => i.id)).not.toContain(sport.notification.id);
      expect(await store.unreadCount('a')).toBe(4);
    });

    it('includes a topic only from the moment of subscribing, and again only from a new subscription', async () => {
      const before = await put(['topic:news'], 'before subscribing');
      await store.subscribe('a', 'news');
      const during = await put(['topic:news'], 'while subscribed');
      expect((await store.feed('a', { limit: 10 })).items.map((i) => i.id)).toEqual([during.notification.id]);
      expect((await store.feed('a', { limit: 10, after: 0 })).items.map((i) => i.id)).toEqual([during.notification.id]);
      await store.unsubscribe('a', 'news');
      await put(['topic:news'], 'while away');
      expect((await store.feed('a', { limit: 10 })).items).toEqual([]);
      expect(await store.unreadCount('a')).toBe(0);
      await store.subscribe('a', 'news');
      const after = await put(['topic:news'], 'after coming back');
      const ids = (await store.feed('a', { limit: 10 })).items.map((i) => i.id);
      expect(ids).toEqual([after.notification.id]);
      expect(ids).not.toContain(before.notification.id);
    });

    it('marks given ids read with the store clock, ignores unknown ids, and filters unread', async () => {
      const one = await put(['user:a'], 'one');
      const two = await put(['user:a'], 'two');
      const three = await put(['broadcast'], 'three');
      expect(await store.unreadCount('a')).toBe(3);
      time = T0 + 5000;
      await store.markRead('a', [one.notification.id, three.notification.id, 'ntf_unknown']);
      expect(await store.unreadCount('a')).toBe(1);
      const feed = await store.feed('a', { limit: 10 });
      const readAt = Object.fromEntries(feed.items.map((i) => [i.id, i.readAt]));
      expect(readAt).toEqual({ [one.notification.id]: new Date(T0 + 5000).toISOString(), [two.notification.id]: null, [three.notification.id]: new Date(T0 + 5000).toISOString() });
      expect((await store.feed('a', { limit: 10, unreadOnly: true })).items.map((i) => i.id)).toEqual([two.notification.id]);
      // Read state is per user: the broadcast is still unread for b.
      expect(await store.unreadCount('b')).toBe(1);
    });

    it('marks everything read up to now, and counts what arrives later as unread', async () => {
      await put(['user:a'], 'old one');
      await put(['broadcast'], 'old broadcast');
      await store.subscribe('a', 'news');
      await put(['topic:news'], 'old news');
      time = T0 + 7000;
      await store.markAllRead('a');
      expect(await store.unreadCount('a')).toBe(0);
      const all = await store.feed('a', { limit: 10 });
      expect(all.items.map((i) => i.readAt)).toEqual(Array(3).fill(new Date(T0 + 7000).toISOString()));
      expect((await store.feed('a', { limit: 10, unreadOnly: true })).items).toEqual([]);
      const fresh = await put(['user:a'], 'fresh');
      const news = await put(['topic:news'], 'fresh news');
      expect(await store.unreadCount('a')).toBe(2);
      const unread = await store.feed('a', { limit: 10, unreadOnly: true });
      expect(unread.items.map((i) => i.id)).toEqual([news.notification.id, fresh.notification.id]);
      expect(unread.items.every((i) => i.readAt === null)).toBe(true);
      await store.markRead('a', [fresh.notification.id]);
      expect(await store.unreadCount('a')).toBe(1);
    });

    it('subscribes and unsubscribes idempotently, saying whether anything changed', async () => {
      expect(await store.subscriptions('a')).toEqual([]);
      expect(await store.subscribe('a', 'news')).toBe(true);
      expect(await store.subscribe('a', 'news')).toBe(false);
      expect(await store.subscribe('a', 'sport')).toBe(true);
      expect((await store.subscriptions('a')).sort()).toEqual(['news', 'sport']);
      expect(await store.subscriptions('b')).toEqual([]);
      expect(await store.unsubscribe('a', 'news')).toBe(true);
      expect(await store.unsubscribe('a', 'news')).toBe(false);
      expect(await store.unsubscribe('a', 'never')).toBe(false);
      expect(await store.subscriptions('a')).toEqual(['sport']);
    });

    it('keeps an idempotency record with its append and returns it only while younger than the max age', async () => {
      const response = { id: 'ntf_x', createdAt: new Date(T0).toISOString(), streams: 1 };
      await store.append([{ notification: record('idem'), streams: ['user:a'] }], { key: 'svc\nsingle\nk1', bodyHash: 'h1', response });
      expect(await store.getIdempotency('svc\nsingle\nk1', DAY)).toEqual({ key: 'svc\nsingle\nk1', bodyHash: 'h1', response });
      expect(await store.getIdempotency('svc\nsingle\nother', DAY)).toBeUndefined();
      time = T0 + 10_000;
      expect(await store.getIdempotency('svc\nsingle\nk1', 60_000)).toBeDefined();
      expect(await store.getIdempotency('svc\nsingle\nk1', 5_000)).toBeUndefined();
    });

    it('prunes entries older than the cut-off, their orphan notifications and stale idempotency keys', async () => {
      const old = await put(['user:a', 'user:b'], 'old', T0 - 40 * DAY);
      const recent = await put(['user:a'], 'recent', T0 - DAY);
      await store.append([{ notification: record('idem'), streams: ['user:c'] }], { key: 'k', bodyHash: 'h', response: {} });
      const removed = await store.prune(T0 - 30 * DAY, 10_000, T0 + 1);
      expect(removed).toEqual({ entries: 2, notifications: 1, idempotencyKeys: 1 });
      expect((await store.feed('a', { limit: 10 })).items.map((i) => i.id)).toEqual([recent.notification.id]);
      expect((await store.feed('b', { limit: 10 })).items).toEqual([]);
      expect(await store.getIdempotency('k', DAY)).toBeUndefined();
      expect(old.seqs).toHaveLength(2);
      expect(await store.prune(T0 - 30 * DAY, 10_000, T0 + 1)).toEqual({ entries: 0, notifications: 0, idempotencyKeys: 0 });
    });

    it('caps each stream at the newest entries and keeps a notification another stream still holds', async () => {
      const shared = await put(['user:a', 'user:b'], 'shared');
      const newer: string[] = [];
      for (let i = 0; i < 4; i++) newer.push((await put(['user:a'], `a${i}`)).notification.id);
      const removed = await store.prune(0, 3, 0);
      expect(removed).toMatchObject({ entries: 2, notifications: 1 });
      expect((await store.feed('a', { limit: 10 })).items.map((i) => i.id)).toEqual(newer.slice(1).reverse());
      const b = await store.feed('b', { limit: 10 });
      expect(b.items).toHaveLength(1);
      expect(b.items[0]).toMatchObject({ id: shared.notification.id, title: 'shared', seq: shared.seqs[1] });
    });

    it('keeps the unread count right when pruning removes read and unread entries', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push((await put(['user:a'], `n${i}`)).notification.id);
      await store.markRead('a', [ids[0]!, ids[1]!, ids[4]!]);
      expect(await store.unreadCount('a')).toBe(3);
      // The cap keeps n3, n4 (read) and n5: the read marks of n0 and n1 must not count any more.
      await store.prune(0, 3, 0);
      expect(await store.unreadCount('a')).toBe(2);
      expect((await store.feed('a', { limit: 10, unreadOnly: true })).items.map((i) => i.id)).toEqual([ids[5], ids[3]]);
    });

    it('pages an unread-only feed in both directions, skipping read entries', async () => {
      const put8 = [];
      for (let i = 0; i < 8; i++) put8.push(await put(['user:a'], `n${i}`));
      const [n0, n1, n2, n3, n4, n5, n6, n7] = put8.map((p) => ({ id: p.notification.id, seq: p.seqs[0]! }));
      await store.markRead('a', [n1!.id, n2!.id, n5!.id]);
      const newest = await store.feed('a', { limit: 2, unreadOnly: true });
      expect(newest).toMatchObject({ hasMore: true, items: [{ id: n7!.id }, { id: n6!.id }] });
      const middle = await store.feed('a', { limit: 2, unreadOnly: true, before: n6!.seq });
      expect(middle).toMatchObject({ hasMore: true, items: [{ id: n4!.id }, { id: n3!.id }] });
      const last = await store.feed('a', { limit: 2, unreadOnly: true, before: n3!.seq });
      expect(last).toMatchObject({ hasMore: false, items: [{ id: n0!.id }] });
      const oldest = await store.feed('a', { limit: 3, unreadOnly: true, after: 0 });
      expect(oldest).toMatchObject({ hasMore: true, items: [{ id: n0!.id }, { id: n3!.id }, { id: n4!.id }] });
      const rest = await store.feed('a', { limit: 3, unreadOnly: true, after: n4!.seq });
      expect(rest).toMatchObject({ hasMore: false, items: [{ id: n6!.id }, { id: n7!.id }] });
    });

    it('never reuses a seq, even after pruning removed every entry', async () => {
      const first = await put(['user:a'], 'first');
      await store.prune(T0 + DAY, 10_000, 0);
      expect((await store.feed('a', { limit: 10 })).items).toEqual([]);
      const second = await put(['user:a'], 'second');
      expect(second.seqs[0]).toBeGreaterThan(first.seqs[0]!);
    });

    it('resolves many concurrent appends with distinct seqs, all present in the feed', async () => {
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => put(['user:a'], `c${i}`)));
      const seqs = results.map((r) => r.seqs[0]!);
      expect(new Set(seqs).size).toBe(50);
      const feed = await store.feed('a', { limit: 100, after: 0 });
      expect(feed.items.map((i) => i.seq)).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(feed.items.map((i) => i.id))).toEqual(new Set(results.map((r) => r.notification.id)));
    });

    it('reads many users at once as it reads each alone: topics, unread counts and what each missed', async () => {
      await store.subscribe('b', 'news');
      await store.subscribe('b', 'alerts');
      const own = await put(['user:a'], 'own');
      const all = await put(['broadcast'], 'everyone');
      await put(['topic:news'], 'news');
      await put(['user:b', 'user:c'], 'pair');
      await store.markRead('b', [all.notification.id]);
      const requests = [
        { userId: 'a', afterSeq: 0, limit: 100 },
        { userId: 'b', afterSeq: own.seqs[0]!, limit: 100 },
        { userId: 'c', afterSeq: undefined, limit: 100 },
        { userId: 'b', afterSeq: 0, limit: 1 },
        { userId: 'nobody', afterSeq: 0, limit: 100 },
      ];
      const together = await store.catchUp(requests);
      expect(together).toHaveLength(requests.length);
      for (const [i, { userId, afterSeq, limit }] of requests.entries()) {
        expect(together[i]).toEqual({
          topics: await store.subscriptions(userId),
          unreadCount: await store.unreadCount(userId),
          missed: afterSeq === undefined ? { items: [], hasMore: false } : await store.feed(userId, { after: afterSeq, limit }),
        });
      }
      expect(together[0]!.missed.items.map((n) => n.title)).toEqual(['own', 'everyone']);
      expect(together[1]!.missed.items.map((n) => n.title)).toEqual(['everyone', 'news', 'pair']);
      expect(together[3]!.missed).toMatchObject({ hasMore: true, items: [{ title: 'everyone' }] });
      expect(await store.subscriptionsOf(['b', 'a', 'b'])).toEqual([['alerts', 'news'], [], ['alerts', 'news']]);
      expect(await store.unreadCounts(['a', 'b', 'c', 'nobody'])).toEqual([
        await store.unreadCount('a'),
        await store.unreadCount('b'),
        await store.unreadCount('c'),
        1, // the broadcast, which every user has
      ]);
      expect(await store.catchUp([])).toEqual([]);
    });

    it('pages several users in one batch as each alone would read, with watermarks, read marks and topics from their start', async () => {
      await store.subscribe('b', 'news');
      const first = await put(['user:a', 'user:b'], 'first');
      await put(['broadcast'], 'all');
      const news = await put(['topic:news'], 'news');
      await store.markAllRead('a');
      await put(['user:a', 'user:b'], 'later');
      await store.markRead('b', [first.notification.id]);
      const together = await store.catchUp([
        { userId: 'a', afterSeq: 0, limit: 100 },
        { userId: 'b', afterSeq: 0, limit: 2 },
        { userId: 'b', afterSeq: news.seqs[0]!, limit: 100 },
      ]);
      expect(together.map((c) => c.unreadCount)).toEqual([1, 3, 3]);
      expect(together[0]!.missed.items.map((n) => [n.title, n.readAt !== null])).toEqual([['first', true], ['all', true], ['later', false]]);
      expect(together[1]!.missed).toMatchObject({ hasMore: true, items: [{ title: 'first' }, { title: 'all' }] });
      expect(together[1]!.missed.items.map((n) => n.readAt !== null)).toEqual([true, false]);
      expect(together[2]!.missed.items.map((n) => n.title)).toEqual(['later']);
      expect((await store.feed('a', { limit: 10, unreadOnly: true })).items.map((n) => n.title)).toEqual(['later']);
      expect((await store.feed('b', { limit: 2 })).items.map((n) => n.title)).toEqual(['later', 'news']);
      expect((await store.feed('b', { limit: 10, before: news.seqs[0]!, unreadOnly: true })).items.map((n) => n.title)).toEqual(['all']);
    });

    it('reads users whose ids need escaping (quotes, a backslash, a lone surrogate) in a batch with everyone else', async () => {
      const odd = ['say "hi"', 'back\\slash', 'half \ud800 pair', "it's"];
      await store.subscribe(odd[0]!, 'news');
      for (const [i, userId] of odd.entries()) await put([`user:${userId}`], `own ${i}`);
      await put(['topic:news'], 'news');
      await store.markRead(odd[1]!, [(await store.feed(odd[1]!, { limit: 1 })).items[0]!.id]);
      // A read watermark too: the lone surrogate's user marks everything read.
      await store.markAllRead(odd[2]!);
      const together = await store.catchUp([...odd, 'plain'].map((userId) => ({ userId, afterSeq: 0, limit: 100 })));
      expect(together.map((c) => c.missed.items.map((n) => n.title))).toEqual([['own 0', 'news'], ['own 1'], ['own 2'], ['own 3'], []]);
      expect(together.map((c) => c.unreadCount)).toEqual([2, 0, 0, 1, 0]);
      expect(together[2]!.missed.items[0]!.readAt).not.toBeNull();
      expect(await store.unreadCount(odd[2]!)).toBe(0);
      expect((await store.feed(odd[2]!, { limit: 10, unreadOnly: true })).items).toEqual([]);
      expect(together[0]!.topics).toEqual(['news']);
      expect(await store.subscriptionsOf(odd)).toEqual([['news'], [], [], []]);
    });
  });
}
