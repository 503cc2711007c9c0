import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationRecord } from '../server/src/domain/notification.js';
import { redisKeys } from '../server/src/store/redis/scripts.js';
import { RedisStore } from '../server/src/store/redis/redis-store.js';
import { startRedis, type RedisProcess } from './redis-server.js';
import { describeStore } from './store-suite.js';

let server: RedisProcess;
const clients: Redis[] = [];
/** What the clients reported on their `error` event: every client needs a listener, or an error event crashes the worker. */
const clientErrors: Error[] = [];
// "Stream isn't writeable": a command sent in the moment the connection drops (enableOfflineQueue is false).
const CONNECTION_ERROR = /ECONNREFUSED|ECONNRESET|EPIPE|Connection is closed|Stream isn't writeable/;
let prefixes = 0;
const uniquePrefix = () => `herald:test${++prefixes}:`;

/** A client as Herald creates one in cluster mode: it fails fast while Redis is down. */
async function connectClient(): Promise<Redis> {
  const client = new Redis(server.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  client.on('error', (err: Error) => clientErrors.push(err));
  clients.push(client);
  await client.connect();
  return client;
}

async function untilReady(client: Redis): Promise<void> {
  if (client.status !== 'ready') await once(client, 'ready');
}

let seqNotification = 0;
const notification = (title: string, createdAt = Date.now()): NotificationRecord => ({
  id: `ntf_redis_${++seqNotification}_${Math.random().toString(36).slice(2, 8)}`,
  type: 'message',
  title,
  createdAt,
});

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await server.stop();
  // Only the outages the tests cause may surface as client errors.
  expect(clientErrors.filter((err) => !CONNECTION_ERROR.test(err.message))).toEqual([]);
});

describeStore('RedisStore', async (clock) => {
  const redis = await connectClient();
  const store = new RedisStore({ redis, prefix: uniquePrefix(), now: clock.now });
  return {
    store,
    async cleanup() {
      await store.close();
      await redis.flushdb();
      redis.disconnect();
    },
  };
});

describe('RedisStore retention of a flooded stream', () => {
  it('caps a stream far over its limit in scripts of at most pruneStepEntries entries each, and all of it', async () => {
    const redis = await connectClient();
    const store = new RedisStore({ redis, prefix: uniquePrefix(), pruneStepEntries: 7 });
    try {
      const items = Array.from({ length: 60 }, (_, i) => ({ notification: { id: `ntf_flood_${i}`, type: 'message', title: `n${i}`, createdAt: Date.now() }, streams: ['user:ann'] }));
      await store.append(items);
      await store.append([{ notification: { id: 'ntf_other', type: 'message', title: 'other', createdAt: Date.now() }, streams: ['user:bob'] }]);
      // Each script is one atomic step that holds every other Redis client up: 55 entries in steps of 7
      // take 8 runs of the cap script (besides one of the age script and one of the idempotency one).
      const scriptRuns = async () =>
        [...(await redis.info('commandstats')).matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
      const before = await scriptRuns();
      const removed = await store.prune(0, 5, 0);
      expect(await scriptRuns()).toBeGreaterThanOrEqual(before + 2 + Math.ceil(55 / 7));
      expect(removed).toEqual({ entries: 55, notifications: 55, idempotencyKeys: 0 });
      expect((await store.feed('ann', { limit: 100 })).items.map((n) => n.title)).toEqual(['n59', 'n58', 'n57', 'n56', 'n55']);
      expect((await store.feed('bob', { limit: 100 })).items.map((n) => n.title)).toEqual(['other']);
      // Nothing left over for the next prune.
      expect(await store.prune(0, 5, 0)).toEqual({ entries: 0, notifications: 0, idempotencyKeys: 0 });
    } finally {
      await store.close();
      await redis.flushdb();
      redis.disconnect();
    }
  });
});

describe('RedisStore in a cluster', () => {
  let redis: Redis;
  const stores: RedisStore[] = [];
  const storeOn = (client: Redis, prefix: string, retentionMs?: number) => {
    const store = new RedisStore({ redis: client, prefix, ...(retentionMs === undefined ? {} : { retentionMs }) });
    stores.push(store);
    return store;
  };

  beforeAll(async () => {
    redis = await connectClient();
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await untilReady(redis);
    await redis.flushdb();
  });

  it('hands out one seq sequence to two nodes: interleaved appends get distinct, increasing seqs', async () => {
    const prefix = uniquePrefix();
    const a = storeOn(redis, prefix);
    const b = storeOn(await connectClient(), prefix);
    const inOrder: number[] = [];
    for (let i = 0; i < 10; i++) {
      for (const store of [a, b]) {
        const [result] = await store.append([{ notification: notification(`n${i}`), streams: ['user:alice'] }]);
        inOrder.push(result!.entries[0]!.seq);
      }
    }
    expect(inOrder).toEqual([...inOrder].sort((x, y) => x - y));
    expect(new Set(inOrder).size).toBe(20);
    const concurrent = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).append([{ notification: notification(`c${i}`), streams: ['user:alice', 'broadcast'] }])),
    );
    const seqs = concurrent.flatMap(([r]) => r!.entries.map((e) => e.seq));
    expect(new Set(seqs).size).toBe(400);
    expect(Math.min(...seqs)).toBeGreaterThan(Math.max(...inOrder));
    // Both nodes read the same feed.
    const [fromA, fromB] = await Promise.all([a.feed('alice', { limit: 100 }), b.feed('alice', { limit: 100 })]);
    expect(fromA.items.map((n) => n.seq)).toEqual(fromB.items.map((n) => n.seq));
    expect(await b.unreadCount('alice')).toBe(420);
  });

  it('caps a stream another node appended to', async () => {
    const prefix = uniquePrefix();
    const writer = storeOn(redis, prefix);
    const pruner = storeOn(await connectClient(), prefix);
    for (let i = 0; i < 5; i++) await writer.append([{ notification: notification(`n${i}`), streams: ['user:bob'] }]);
    expect(await pruner.prune(0, 2, 0)).toEqual({ entries: 3, notifications: 3, idempotencyKeys: 0 });
    expect((await writer.feed('bob', { limit: 10 })).items.map((n) => n.title)).toEqual(['n4', 'n3']);
  });

  it('gives notifications, streams and idempotency records a TTL', async () => {
    const prefix = uniquePrefix();
    const keys = redisKeys(prefix);
    const store = storeOn(redis, prefix, 3_600_000);
    const n = notification('ttl');
    await store.append([{ notification: n, streams: ['user:carol'] }], { key: 'svc\nsingle\nk', bodyHash: 'h', response: {} });
    const [note, stream, idem] = await Promise.all([
      redis.pttl(keys.notification(n.id)),
      redis.pttl(keys.stream('user:carol')),
      redis.pttl(keys.idempotency('svc\nsingle\nk')),
    ]);
    expect(note).toBeGreaterThan(3_500_000);
    expect(note).toBeLessThanOrEqual(3_600_000);
    expect(stream).toBeGreaterThan(3_500_000);
    expect(idem).toBeGreaterThan(86_300_000);
    expect(idem).toBeLessThanOrEqual(86_400_000);
  });

  it('drops and removes entries whose notification expired before prune reached it', async () => {
    const prefix = uniquePrefix();
    const keys = redisKeys(prefix);
    const shortLived = storeOn(redis, prefix, 500);
    const store = storeOn(redis, prefix);
    const gone = notification('expires');
    await shortLived.append([{ notification: gone, streams: ['user:dave'] }]);
    // A later append renews the stream's TTL, so only the notification expires.
    const kept = notification('stays');
    await store.append([{ notification: kept, streams: ['user:dave'] }]);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await redis.exists(keys.notification(gone.id))).toBe(0);
    expect(await redis.zscore(keys.stream('user:dave'), gone.id)).not.toBeNull();
    // Counted until a read or a prune finds it gone.
    expect(await store.unreadCount('dave')).toBe(2);
    expect((await store.feed('dave', { limit: 10 })).items.map((n) => n.id)).toEqual([kept.id]);
    expect(await redis.zscore(keys.stream('user:dave'), gone.id)).toBeNull();
    expect(await store.unreadCount('dave')).toBe(1);
  });

  it('refuses a notification listing a stream twice, and appends after close', async () => {
    const store = storeOn(redis, uniquePrefix());
    await expect(store.append([{ notification: notification('twice'), streams: ['user:hal', 'user:hal'] }])).rejects.toThrow(/twice/);
    await store.close();
    await expect(store.append([{ notification: notification('late'), streams: ['user:hal'] }])).rejects.toThrow(/closed/);
  });

  it('loads its scripts again for a read pipeline when Redis has forgotten them (SCRIPT FLUSH, a restart)', async () => {
    const store = storeOn(redis, uniquePrefix());
    await store.append([{ notification: notification('kept'), streams: ['user:hana'] }]);
    await redis.script('FLUSH');
    const [catchUp] = await store.catchUp([{ userId: 'hana', afterSeq: 0, limit: 10 }]);
    expect(catchUp).toMatchObject({ topics: [], unreadCount: 1, missed: { hasMore: false, items: [{ title: 'kept' }] } });
    await redis.script('FLUSH');
    expect(await store.unreadCounts(['hana', 'nobody'])).toEqual([1, 0]);
  });

  /**
   * A store on a clock the test moves (`later(ms)`), with `put` (an entry for ida; resolves its seq)
   * and `missedAfter` (the titles of ida's catch-up after a seq).
   */
  function clockedStore() {
    let now = Date.UTC(2026, 11, 2, 12, 0, 0);
    const store = new RedisStore({ redis, prefix: uniquePrefix(), now: () => now });
    stores.push(store);
    return {
      store,
      later: (ms: number) => void (now += ms),
      put: async (title: string) => (await store.append([{ notification: notification(title), streams: ['user:ida'] }]))[0]!.entries[0]!.seq,
      missedAfter: async (afterSeq: number) => (await store.catchUp([{ userId: 'ida', afterSeq, limit: 100 }]))[0]!.missed.items.map((n) => n.title),
    };
  }

  it('resumes a reconnecting client a clock bucket before its lastSeq, and from the start of a recorded delivery gap', async () => {
    const { store, later, put, missedAfter } = clockedStore();
    // Without any heartbeat there is no clock to go by: no earlier start.
    const s1 = await put('s1');
    expect(await missedAfter(s1)).toEqual([]);
    // A clock younger than a bucket before s1: the whole feed is read again.
    await store.tickSeqClock();
    later(10_000);
    expect(await missedAfter(s1)).toEqual(['s1']);
    // Heartbeats note the seq in 10 s buckets; then one entry per bucket.
    await store.tickSeqClock();
    later(10_000);
    const s2 = await put('s2');
    await store.tickSeqClock();
    later(10_000);
    const s3 = await put('s3');
    await store.tickSeqClock();
    later(10_000);
    await store.tickSeqClock();
    // From s3: back to the end of the bucket before s3's, i.e. after s2; from s2: after s1.
    expect(await missedAfter(s3)).toEqual(['s3']);
    expect(await missedAfter(s2)).toEqual(['s2', 's3']);
    // A Redis outage may have swallowed the live delivery of s2 and s3: a lastSeq inside resumes from before them.
    await store.recordGap(s1, s3);
    expect(await missedAfter(s3)).toEqual(['s2', 's3']);
    // A catch-up of several users at once moves each resume point on its own.
    const [a, b] = await store.catchUp([
      { userId: 'ida', afterSeq: s3, limit: 100 },
      { userId: 'nobody', afterSeq: s3, limit: 100 },
    ]);
    expect(a!.missed.items.map((n) => n.title)).toEqual(['s2', 's3']);
    expect(b!.missed.items).toEqual([]);
  });

  it('resumes a lastSeq newer than every note of the seq clock from the bucket before the current one', async () => {
    const { store, later, put, missedAfter } = clockedStore();
    await put('old');
    await store.tickSeqClock();
    later(10_000);
    // In the current bucket: a heartbeat, then entries no heartbeat has noted yet.
    await put('a');
    await store.tickSeqClock();
    await put('b');
    const c = await put('c');
    // From c: back to the end of the bucket before the current one (after 'old'), not to the last note (after 'a').
    expect(await missedAfter(c)).toEqual(['a', 'b', 'c']);
  });

  it('refuses a client with a keyPrefix, whose keys its scripts could not see', async () => {
    const prefixed = new Redis(server.url, { keyPrefix: 'x:', lazyConnect: true });
    expect(() => new RedisStore({ redis: prefixed })).toThrow(/prefix/);
    prefixed.disconnect();
  });

  it('rejects within a second while Redis is down, and works again once it is back', async () => {
    const prefix = uniquePrefix();
    const client = await connectClient();
    const store = storeOn(client, prefix);
    await store.append([{ notification: notification('before'), streams: ['user:erin'] }]);
    await server.stop();
    try {
      const started = Date.now();
      await expect(store.append([{ notification: notification('down'), streams: ['user:erin'] }])).rejects.toThrow();
      await expect(store.feed('erin', { limit: 10 })).rejects.toThrow();
      await expect(store.check()).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      await server.restart();
    }
    await untilReady(client);
    // The restarted server is empty (nothing saved) and has no scripts cached: EVALSHA falls back to EVAL.
    const [result] = await store.append([{ notification: notification('after'), streams: ['user:erin'] }]);
    expect(result!.entries[0]!.seq).toBeGreaterThan(0);
    expect((await store.feed('erin', { limit: 10 })).items.map((n) => n.title)).toEqual(['after']);
    await expect(store.check()).resolves.toBeUndefined();
    await untilReady(redis);
  });

  it('keeps the seq, feeds and read state across a restart of a Redis that persists (AOF)', async () => {
    const durable = await startRedis({ persistent: true });
    const client = new Redis(durable.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
    client.on('error', (err: Error) => clientErrors.push(err));
    try {
      await client.connect();
      const store = new RedisStore({ redis: client });
      const before = await store.append([{ notification: notification('kept'), streams: ['user:gina'] }]);
      await store.markAllRead('gina');
      await store.close();
      await durable.stop({ keepData: true });
      await durable.start();
      await untilReady(client);
      const after = new RedisStore({ redis: client });
      const [next] = await after.append([{ notification: notification('new'), streams: ['user:gina'] }]);
      expect(next!.entries[0]!.seq).toBeGreaterThan(before[0]!.entries[0]!.seq);
      expect((await after.feed('gina', { limit: 10 })).items.map((n) => [n.title, n.readAt === null])).toEqual([
        ['new', true],
        ['kept', false],
      ]);
      expect(await after.unreadCount('gina')).toBe(1);
      await after.close();
    } finally {
      client.disconnect();
      await durable.stop();
    }
  });

  it('settles every append under way when Redis dies in the middle of them', async () => {
    const client = await connectClient();
    const store = storeOn(client, uniquePrefix());
    // Redis holds the writes unanswered until it dies, so some are under way on any machine
    // (without the pause a fast one answered all 2,000 before the stop).
    await redis.call('CLIENT', 'PAUSE', '10000', 'WRITE');
    const pending = Array.from({ length: 2_000 }, (_, i) => store.append([{ notification: notification(`p${i}`), streams: ['user:frank'] }]));
    // Observed from the start, as a caller awaits its append: the rejections that come while Redis
    // stops must not count as unhandled (1,209 did, when this waited for stop() first).
    const settling = Promise.allSettled(pending);
    await server.stop();
    try {
      const started = Date.now();
      const settled = await settling;
      expect(settled).toHaveLength(2_000);
      expect(settled.some((s) => s.status === 'rejected')).toBe(true);
      expect(Date.now() - started).toBeLessThan(2_000);
      await expect(store.close()).resolves.toBeUndefined();
    } finally {
      await server.restart();
    }
    await untilReady(redis);
  });
});
