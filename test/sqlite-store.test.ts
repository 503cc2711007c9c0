import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore, type SqliteStoreOptions } from '../server/src/store/sqlite/sqlite-store.js';
import { statementCache } from '../server/src/store/sqlite/writes.js';
import { describeStore, type StoreClock } from './store-suite.js';

const tempDir = () => mkdtempSync(path.join(tmpdir(), 'herald-store-'));

/** A store contract run on a fresh folder, with these options. */
const sqliteStore = (options: Partial<SqliteStoreOptions> = {}) => async (clock: StoreClock) => {
  const dataDir = tempDir();
  const store = new SqliteStore({ dataDir, now: clock.now, ...options });
  return {
    store,
    async cleanup() {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
};

describeStore('SqliteStore', sqliteStore());
describeStore('SqliteStore, every write on its writer thread', sqliteStore({ writerThreadMinRows: 0 }));

/** Folders made by the tests below, removed after each test. */
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const testDir = () => {
  const dir = tempDir();
  dirs.push(dir);
  return dir;
};

/** `count` notifications for `user:a`, one append. */
const manyItems = (count: number, prefix: string) =>
  Array.from({ length: count }, (_, i) => ({
    notification: { id: `ntf_${prefix}_${i}`, type: 'message', title: `${prefix} ${i}`, data: { i }, createdAt: Date.now() },
    streams: ['user:a'],
  }));

describe('SqliteStore writer thread', () => {
  it('keeps the event loop turning while a large group is written', async () => {
    const dataDir = testDir();
    const store = new SqliteStore({ dataDir });
    try {
      let turns = 0;
      let done = false;
      const turn = () => {
        turns++;
        if (!done) setImmediate(turn);
      };
      const appended = store.append(manyItems(3000, 'large')).finally(() => (done = true));
      setImmediate(turn);
      const results = await appended;
      // Written on the event loop, the group would take one turn (a few ms of SQLite) with nothing else running.
      expect(turns).toBeGreaterThan(5);
      expect(results).toHaveLength(3000);
      expect(await store.unreadCount('a')).toBe(3000);
    } finally {
      await store.close();
    }
  });

  for (const [where, writerThreadMinRows] of [
    ['on the thread', 0],
    ['on the event loop', Number.POSITIVE_INFINITY],
  ] as const) {
    it(`fails a write that fails ${where} alone: the rest of its group commits, and the next group is written`, async () => {
      const dataDir = testDir();
      const store = new SqliteStore({ dataDir, writerThreadMinRows });
      try {
        await store.append(manyItems(2, 'kept'));
        const [duplicate] = manyItems(1, 'dup');
        // Submitted in the same turn: one group, one transaction.
        const failing = store.append([duplicate!, duplicate!]);
        const appendInSameGroup = store.append(manyItems(1, 'same'));
        const markInSameGroup = store.markRead('a', ['ntf_kept_0']);
        await expect(failing).rejects.toThrow(/UNIQUE constraint failed: notifications.id/);
        await expect(appendInSameGroup).resolves.toHaveLength(1);
        await expect(markInSameGroup).resolves.toBeUndefined();
        const feed = await store.feed('a', { limit: 10 });
        expect(feed.items.map((n) => [n.id, n.readAt === null])).toEqual([
          ['ntf_same_0', true],
          ['ntf_kept_1', true],
          ['ntf_kept_0', false],
        ]);
        const [next] = await store.append(manyItems(1, 'next'));
        expect(next!.entries[0]!.stream).toBe('user:a');
        expect(await store.unreadCount('a')).toBe(3);
      } finally {
        await store.close();
      }
    });
  }

  it('lets the process end after close once the thread has written (the thread does not outlive the store)', async () => {
    const dataDir = testDir();
    const storeModule = path.resolve(import.meta.dirname, '../server/src/store/sqlite/sqlite-store.ts');
    const script = `
      import { SqliteStore } from ${JSON.stringify(storeModule)};
      const store = new SqliteStore({ dataDir: ${JSON.stringify(dataDir)}, writerThreadMinRows: 0 });
      await store.append([{ notification: { id: 'ntf_x', type: 'message', title: 'x', createdAt: Date.now() }, streams: ['user:a'] }]);
      await store.close();
      console.log('closed');`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 20_000 });
    expect(stdout.trim()).toBe('closed');
  });

  it('refuses writes once closed, on the thread as on the event loop', async () => {
    const dataDir = testDir();
    for (const writerThreadMinRows of [0, Number.POSITIVE_INFINITY]) {
      const store = new SqliteStore({ dataDir, writerThreadMinRows });
      await store.append(manyItems(1, `before_${writerThreadMinRows}`));
      await store.close();
      await expect(store.append(manyItems(1, `after_${writerThreadMinRows}`))).rejects.toThrow(/closed|not open/);
    }
  });

  it('marks read only what had been appended when asked, not an append still being written', async () => {
    const dataDir = testDir();
    const store = new SqliteStore({ dataDir, writerThreadMinRows: 0 });
    try {
      await store.append(manyItems(1, 'seen'));
      // Submitted in the same turn: the append is written first, in the same group, but had not resolved when asked.
      const inFlight = store.append(manyItems(1, 'unseen'));
      const markAll = store.markAllRead('a');
      await Promise.all([inFlight, markAll]);
      expect(await store.unreadCount('a')).toBe(1);
      expect((await store.feed('a', { limit: 10, unreadOnly: true })).items.map((n) => n.id)).toEqual(['ntf_unseen_0']);
    } finally {
      await store.close();
    }
  });

  it('includes in a new subscription a topic notification still being written when subscribing', async () => {
    const dataDir = testDir();
    const store = new SqliteStore({ dataDir, writerThreadMinRows: 0 });
    try {
      const inFlight = store.append([{ notification: { id: 'ntf_topic_1', type: 'message', title: 't', createdAt: Date.now() }, streams: ['topic:news'] }]);
      const subscribed = store.subscribe('a', 'news');
      await Promise.all([inFlight, subscribed]);
      expect((await store.feed('a', { limit: 10 })).items.map((n) => n.id)).toEqual(['ntf_topic_1']);
    } finally {
      await store.close();
    }
  });

  it('finishes the group on the thread before it closes', async () => {
    const dataDir = testDir();
    const first = new SqliteStore({ dataDir, writerThreadMinRows: 0 });
    const pending = first.append(manyItems(500, 'closing'));
    await first.close();
    await expect(pending).resolves.toHaveLength(500);
    const second = new SqliteStore({ dataDir });
    try {
      expect(await second.unreadCount('a')).toBe(500);
    } finally {
      await second.close();
    }
  });
});

describe('SqliteStore on disk', () => {
  it('keeps feeds, read marks, subscriptions and the seq counter when reopened on the same folder', async () => {
    const dataDir = testDir();
    const first = new SqliteStore({ dataDir });
    const now = Date.now();
    const appended = await Promise.all(
      Array.from({ length: 20 }, (_, i) => first.append([{ notification: { id: `ntf_disk_${i}`, type: 'message', title: `t${i}`, createdAt: now }, streams: ['user:a'] }])),
    );
    await first.subscribe('a', 'news');
    await first.markRead('a', ['ntf_disk_0', 'ntf_disk_1']);
    // Close right after the appends resolved: what resolved is committed.
    await first.close();

    const second = new SqliteStore({ dataDir });
    try {
      const feed = await second.feed('a', { limit: 100 });
      expect(feed.items).toHaveLength(20);
      expect(await second.unreadCount('a')).toBe(18);
      expect(await second.subscriptions('a')).toEqual(['news']);
      const highest = Math.max(...appended.map(([r]) => r!.entries[0]!.seq));
      const [next] = await second.append([{ notification: { id: 'ntf_disk_next', type: 'message', title: 'next', createdAt: now }, streams: ['user:a'] }]);
      expect(next!.entries[0]!.seq).toBeGreaterThan(highest);
    } finally {
      await second.close();
    }
  });

  it('flushes appends still waiting for their group commit when closed', async () => {
    const dataDir = testDir();
    const first = new SqliteStore({ dataDir });
    const pending = Array.from({ length: 10 }, (_, i) =>
      first.append([{ notification: { id: `ntf_pending_${i}`, type: 'message', title: `p${i}`, createdAt: Date.now() }, streams: ['user:a'] }]),
    );
    await first.close();
    await expect(Promise.all(pending)).resolves.toHaveLength(10);
    const second = new SqliteStore({ dataDir });
    try {
      expect((await second.feed('a', { limit: 100 })).items).toHaveLength(10);
    } finally {
      await second.close();
    }
  });

  it('brings a database of the first schema (notifications keyed by their ULID) to the current one, keeping feeds, read marks and the seq counter', async () => {
    const dataDir = testDir();
    const T = Date.UTC(2026, 10, 21, 10, 0, 0);
    const old = new Database(path.join(dataDir, 'herald.db'));
    old.exec(FIRST_SCHEMA);
    old.exec(`
      INSERT INTO notifications VALUES ('ntf_01A', 'message', 'one', 'body one', '{"n":1}', ${T}), ('ntf_01B', 'order.shipped', 'two', NULL, NULL, ${T + 1}),
        ('ntf_00Z', 'message', 'orphan: its entries were pruned', NULL, NULL, ${T - 1});
      INSERT INTO entries (seq, stream, notification_id, created_at) VALUES (1, 'user:a', 'ntf_01A', ${T}), (2, 'topic:news', 'ntf_01B', ${T + 1}), (3, 'user:a', 'ntf_01B', ${T + 1});
      INSERT INTO subscriptions VALUES ('a', 'news', 0, ${T});
      INSERT INTO read_marks VALUES ('a', 'ntf_01A', ${T + 5});`);
    // Entries up to seq 9 were handed out and pruned since: 10 is the next seq.
    old.exec("UPDATE sqlite_sequence SET seq = 9 WHERE name = 'entries'");
    old.close();

    const store = new SqliteStore({ dataDir });
    try {
      const feed = await store.feed('a', { limit: 10 });
      expect(feed.items.map((n) => [n.seq, n.stream, n.id, n.title, n.readAt])).toEqual([
        [3, 'user:a', 'ntf_01B', 'two', null],
        [2, 'topic:news', 'ntf_01B', 'two', null],
        [1, 'user:a', 'ntf_01A', 'one', new Date(T + 5).toISOString()],
      ]);
      expect(feed.items[2]).toMatchObject({ type: 'message', body: 'body one', data: { n: 1 }, createdAt: new Date(T).toISOString() });
      expect(await store.unreadCount('a')).toBe(2);
      await store.markRead('a', ['ntf_01B']);
      expect(await store.unreadCount('a')).toBe(0);
      const [next] = await store.append([{ notification: { id: 'ntf_01C', type: 'message', title: 'three', createdAt: T + 2 }, streams: ['user:a'] }]);
      expect(next!.entries[0]!.seq).toBe(10);
      // Retention still knows when a notification loses its last entry: seq 1 expires and takes ntf_01A along;
      // the cap of one entry per stream removes seq 3, but ntf_01B stays (topic:news holds it).
      expect(await store.prune(T + 1, 1, 0)).toEqual({ entries: 2, notifications: 1, idempotencyKeys: 0 });
      expect((await store.feed('a', { limit: 10 })).items.map((n) => [n.seq, n.id])).toEqual([
        [10, 'ntf_01C'],
        [2, 'ntf_01B'],
      ]);
    } finally {
      await store.close();
    }
    const reopened = new Database(path.join(dataDir, 'herald.db'), { readonly: true });
    try {
      expect(reopened.pragma('user_version', { simple: true })).toBe(3);
      const tables = reopened.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%_v1'").all();
      expect(tables).toEqual([]);
      expect(reopened.prepare("SELECT id FROM notifications WHERE id = 'ntf_00Z'").get()).toBeUndefined();
    } finally {
      reopened.close();
    }
  });

  it('refuses a database written by a newer Herald rather than misreading it', () => {
    const dataDir = testDir();
    const newer = new Database(path.join(dataDir, 'herald.db'));
    newer.pragma('user_version = 4');
    newer.close();
    expect(() => new SqliteStore({ dataDir })).toThrow(/schema version 4, newer than this Herald's \(3\)/);
  });

  it('keeps the idempotency records of a version 2 file, whose HTTP status column goes', async () => {
    const dataDir = testDir();
    await new SqliteStore({ dataDir }).close();
    const v2 = new Database(path.join(dataDir, 'herald.db'));
    v2.exec('ALTER TABLE idempotency ADD COLUMN status INTEGER NOT NULL DEFAULT 0');
    v2.prepare('INSERT INTO idempotency (key, body_hash, status, response, created_at) VALUES (?, ?, ?, ?, ?)').run('svc\nsingle\nk', 'h', 202, '{"id":"ntf_1"}', Date.now());
    v2.pragma('user_version = 2');
    v2.close();

    const store = new SqliteStore({ dataDir });
    try {
      expect(await store.getIdempotency('svc\nsingle\nk', 60_000)).toEqual({ key: 'svc\nsingle\nk', bodyHash: 'h', response: { id: 'ntf_1' } });
    } finally {
      await store.close();
    }
    const reopened = new Database(path.join(dataDir, 'herald.db'), { readonly: true });
    try {
      expect(reopened.pragma('user_version', { simple: true })).toBe(3);
      expect((reopened.pragma('table_info(idempotency)') as { name: string }[]).map((c) => c.name)).toEqual(['key', 'body_hash', 'response', 'created_at']);
    } finally {
      reopened.close();
    }
  });

  it('sweeps every stream of the file in steps on the first prune after a start, with the event loop turning between them', async () => {
    const dataDir = testDir();
    const streams = Array.from({ length: 35 }, (_, i) => `user:u${String(i).padStart(2, '0')}`);
    const first = new SqliteStore({ dataDir });
    for (let n = 0; n < 3; n++) await first.append([{ notification: { id: `ntf_sweep_${n}`, type: 'message', title: `n${n}`, createdAt: Date.now() }, streams }]);
    await first.close();

    const store = new SqliteStore({ dataDir, pruneStepStreams: 10 });
    try {
      let turns = 0;
      let done = false;
      const turn = () => {
        if (done) return;
        turns++;
        setImmediate(turn);
      };
      setImmediate(turn);
      // One entry kept per stream: two of the three notifications lose every entry.
      const removed = await store.prune(0, 1, 0);
      done = true;
      expect(removed).toEqual({ entries: 70, notifications: 2, idempotencyKeys: 0 });
      // 35 streams in steps of 10: four transactions, each in a turn of its own.
      expect(turns).toBeGreaterThanOrEqual(4);
      for (const stream of [streams[0]!, streams[9]!, streams[10]!, streams[34]!]) {
        expect((await store.feed(stream.slice('user:'.length), { limit: 10 })).items.map((n) => n.id)).toEqual(['ntf_sweep_2']);
      }
      // Later prunes check only the streams appended to since.
      await store.append([{ notification: { id: 'ntf_sweep_3', type: 'message', title: 'n3', createdAt: Date.now() }, streams: [streams[5]!] }]);
      expect(await store.prune(0, 1, 0)).toEqual({ entries: 1, notifications: 0, idempotencyKeys: 0 });
    } finally {
      await store.close();
    }
  });
});

describe('SqliteStore retention of a flooded stream', () => {
  it('caps a stream far over its limit in steps of pruneStepEntries, so that an append in between is not held up', async () => {
    const store = new SqliteStore({ dataDir: testDir(), pruneStepEntries: 10 });
    try {
      await store.append(manyItems(100, 'flood'));
      const order: string[] = [];
      const pruning = store.prune(0, 5, 0).then((removed) => {
        order.push('pruned');
        return removed;
      });
      // Submitted while the prune runs: written between two of its steps, not after all of them.
      await new Promise((resolve) => setImmediate(resolve));
      const appended = store.append(manyItems(1, 'during')).then(() => order.push('appended'));
      const [removed] = await Promise.all([pruning, appended]);
      expect(order).toEqual(['appended', 'pruned']);
      expect(removed.entries).toBeGreaterThanOrEqual(95);
      const kept = (await store.feed('a', { limit: 100 })).items.map((n) => n.id);
      expect(kept.slice(0, 2)).toEqual(['ntf_during_0', 'ntf_flood_99']);
      expect(kept.length).toBeLessThanOrEqual(6);
    } finally {
      await store.close();
    }
  });

  it('removes an expired backlog in steps too, and all of it', async () => {
    const store = new SqliteStore({ dataDir: testDir(), pruneStepEntries: 10 });
    try {
      await store.append(manyItems(35, 'old'));
      const removed = await store.prune(Date.now() + 1000, 1000, 0);
      expect(removed).toEqual({ entries: 35, notifications: 35, idempotencyKeys: 0 });
      expect((await store.feed('a', { limit: 100 })).items).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

/** The schema SqliteStore created before version 2 (no `user_version`). */
const FIRST_SCHEMA = `
CREATE TABLE notifications (
  id TEXT PRIMARY KEY, type TEXT NOT NULL, title TEXT NOT NULL, body TEXT, data TEXT, created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE entries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, notification_id TEXT NOT NULL, created_at INTEGER NOT NULL
);
CREATE INDEX entries_stream_seq ON entries (stream, seq);
CREATE INDEX entries_notification ON entries (notification_id);
CREATE TABLE subscriptions (
  user_id TEXT NOT NULL, topic TEXT NOT NULL, since_seq INTEGER NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, topic)
) WITHOUT ROWID;
CREATE TABLE read_marks (
  user_id TEXT NOT NULL, notification_id TEXT NOT NULL, read_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, notification_id)
) WITHOUT ROWID;
CREATE INDEX read_marks_notification ON read_marks (notification_id);
CREATE TABLE read_watermarks (
  user_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, read_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE idempotency (
  key TEXT PRIMARY KEY, body_hash TEXT NOT NULL, status INTEGER NOT NULL, response TEXT NOT NULL, created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX idempotency_created ON idempotency (created_at);
`;

describe('statementCache', () => {
  it('keeps at most its capacity of prepared statements, forgetting the least recently used', () => {
    const db = new Database(':memory:');
    try {
      let prepared = 0;
      const prepare = db.prepare.bind(db);
      db.prepare = ((sql: string) => {
        prepared++;
        return prepare(sql);
      }) as typeof db.prepare;
      const stmt = statementCache(db, 3);
      const sql = (n: number) => `SELECT ${n} AS n`;
      for (const n of [1, 2, 3, 1, 4]) stmt(sql(n)).get();
      // 1 was used again before 4 came, so 2 was the one forgotten.
      expect(prepared).toBe(4);
      stmt(sql(1)).get();
      stmt(sql(3)).get();
      expect(prepared).toBe(4);
      expect((stmt(sql(2)).get() as { n: number }).n).toBe(2);
      expect(prepared).toBe(5);
    } finally {
      db.close();
    }
  });
});
