import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BROADCAST_STREAM, topicRoom, userRoom } from '../domain/topics.js';
import { toNotification, type Notification } from '../domain/notification.js';
import { GroupCommit } from './group-commit.js';
import { migrateSchema } from './sqlite-schema.js';
import type {
  AppendItem,
  AppendResult,
  FeedPage,
  FeedQuery,
  IdempotencyRecord,
  NotificationStore,
  PruneResult,
} from './store.js';

interface StreamRange {
  stream: string;
  /** Entries with seq greater than this belong to the feed. */
  from: number;
}

interface FeedRow {
  seq: number;
  stream: string;
  id: string;
  type: string;
  title: string;
  body: string | null;
  data: string | null;
  created_at: number;
  read_at: number | null;
}

export interface SqliteStoreOptions {
  /** Folder of the database file. */
  dataDir: string;
  /** @default "herald.db" */
  fileName?: string;
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
}

/**
 * The embedded store: one SQLite file in WAL mode with `synchronous=FULL`, so a
 * commit survives a crash, and concurrent appends grouped into one transaction,
 * so durability costs one fsync per group rather than per request.
 */
export class SqliteStore implements NotificationStore {
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly writer: GroupCommit<{ items: readonly AppendItem[]; idempotency?: IdempotencyRecord }, AppendResult[]>;
  /** Streams appended to since the last prune, whose per-stream cap must be checked. */
  private touchedStreams = new Set<string>();
  private prunedOnce = false;

  constructor(opts: SqliteStoreOptions) {
    mkdirSync(opts.dataDir, { recursive: true });
    this.db = new Database(path.join(opts.dataDir, opts.fileName ?? 'herald.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    try {
      migrateSchema(this.db);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.now = opts.now ?? Date.now;
    this.writer = new GroupCommit((batch) => this.db.transaction(() => batch.map((w) => this.write(w.items, w.idempotency)))());
  }

  append(items: readonly AppendItem[], idempotency?: IdempotencyRecord): Promise<AppendResult[]> {
    return this.writer.submit(idempotency ? { items, idempotency } : { items });
  }

  private write(items: readonly AppendItem[], idempotency?: IdempotencyRecord): AppendResult[] {
    const insertNotification = this.stmt('INSERT INTO notifications (id, type, title, body, data, created_at, live_entries) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const insertEntry = this.stmt('INSERT INTO entries (stream, notification_num, created_at) VALUES (?, ?, ?)');
    const results = items.map(({ notification: n, streams }) => {
      const data = n.data === undefined ? null : JSON.stringify(n.data);
      const num = insertNotification.run(n.id, n.type, n.title, n.body ?? null, data, n.createdAt, streams.length).lastInsertRowid;
      const entries = streams.map((stream) => {
        this.touchedStreams.add(stream);
        return { stream, seq: Number(insertEntry.run(stream, num, n.createdAt).lastInsertRowid) };
      });
      return { entries };
    });
    if (idempotency) {
      this.stmt('INSERT OR REPLACE INTO idempotency (key, body_hash, status, response, created_at) VALUES (?, ?, ?, ?, ?)').run(
        idempotency.key,
        idempotency.bodyHash,
        idempotency.status,
        JSON.stringify(idempotency.response),
        this.now(),
      );
    }
    return results;
  }

  async getIdempotency(key: string, maxAgeMs: number): Promise<IdempotencyRecord | undefined> {
    const row = this.stmt('SELECT body_hash, status, response, created_at FROM idempotency WHERE key = ?').get(key) as
      | { body_hash: string; status: number; response: string; created_at: number }
      | undefined;
    if (!row || row.created_at < this.now() - maxAgeMs) return undefined;
    return { key, bodyHash: row.body_hash, status: row.status, response: JSON.parse(row.response) as unknown };
  }

  // One process owns the file, and the service already serializes requests per key in it.
  async claimIdempotency(): Promise<boolean> {
    return true;
  }

  async releaseIdempotency(): Promise<void> {}

  async feed(userId: string, query: FeedQuery): Promise<FeedPage> {
    const ascending = query.after !== undefined;
    const watermark = this.watermark(userId);
    const ranges = this.ranges(userId);
    const floor = Math.max(query.after ?? 0, query.unreadOnly ? watermark.seq : 0);
    const ceiling = ascending ? Number.MAX_SAFE_INTEGER : (query.before ?? Number.MAX_SAFE_INTEGER);
    const direction = ascending ? 'ASC' : 'DESC';
    const unreadFilter = query.unreadOnly
      ? 'AND NOT EXISTS (SELECT 1 FROM read_marks r WHERE r.user_id = ? AND r.notification_num = entries.notification_num)'
      : '';
    const perStream = `SELECT * FROM (SELECT seq, stream, notification_num FROM entries WHERE stream = ? AND seq > ? AND seq < ? ${unreadFilter} ORDER BY seq ${direction} LIMIT ?)`;
    const sql = `SELECT e.seq, e.stream, n.id, n.type, n.title, n.body, n.data, n.created_at, r.read_at
      FROM (${ranges.map(() => perStream).join(' UNION ALL ')}) e
      JOIN notifications n ON n.num = e.notification_num
      LEFT JOIN read_marks r ON r.user_id = ? AND r.notification_num = e.notification_num
      ORDER BY e.seq ${direction} LIMIT ?`;
    const fetch = query.limit + 1;
    const params: unknown[] = [];
    for (const range of ranges) {
      params.push(range.stream, Math.max(range.from, floor), ceiling);
      if (query.unreadOnly) params.push(userId);
      params.push(fetch);
    }
    params.push(userId, fetch);
    const rows = this.stmt(sql).all(...params) as FeedRow[];
    const items = rows.slice(0, query.limit).map((row) => this.toItem(row, watermark));
    return { items, hasMore: rows.length > query.limit };
  }

  async unreadCount(userId: string): Promise<number> {
    const watermark = this.watermark(userId);
    const ranges = this.ranges(userId);
    const perStream = `(SELECT COUNT(*) FROM entries WHERE stream = ? AND seq > ?
      AND NOT EXISTS (SELECT 1 FROM read_marks r WHERE r.user_id = ? AND r.notification_num = entries.notification_num))`;
    const sql = `SELECT ${ranges.map(() => perStream).join(' + ')} AS n`;
    const params = ranges.flatMap((range) => [range.stream, Math.max(range.from, watermark.seq), userId]);
    return (this.stmt(sql).get(...params) as { n: number }).n;
  }

  async markRead(userId: string, ids: readonly string[]): Promise<void> {
    const insert = this.stmt('INSERT OR IGNORE INTO read_marks (user_id, notification_num, read_at) SELECT ?, num, ? FROM notifications WHERE id = ?');
    const at = this.now();
    this.db.transaction(() => {
      for (const id of ids) insert.run(userId, at, id);
    })();
  }

  async markAllRead(userId: string): Promise<void> {
    this.stmt(
      `INSERT INTO read_watermarks (user_id, seq, read_at)
       VALUES (?, (SELECT COALESCE(MAX(seq), 0) FROM entries), ?)
       ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq, read_at = excluded.read_at`,
    ).run(userId, this.now());
  }

  async subscriptions(userId: string): Promise<string[]> {
    const rows = this.stmt('SELECT topic FROM subscriptions WHERE user_id = ? ORDER BY topic').all(userId) as { topic: string }[];
    return rows.map((r) => r.topic);
  }

  async subscribe(userId: string, topic: string): Promise<boolean> {
    const result = this.stmt(
      `INSERT OR IGNORE INTO subscriptions (user_id, topic, since_seq, created_at)
       VALUES (?, ?, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'entries'), 0), ?)`,
    ).run(userId, topic, this.now());
    return result.changes > 0;
  }

  async unsubscribe(userId: string, topic: string): Promise<boolean> {
    return this.stmt('DELETE FROM subscriptions WHERE user_id = ? AND topic = ?').run(userId, topic).changes > 0;
  }

  async prune(olderThan: number, perStream: number, idempotencyOlderThan: number): Promise<PruneResult> {
    return this.db.transaction((): PruneResult => {
      // Entries removed per notification.
      const removed = new Map<number, number>();
      const collect = (rows: unknown[]) => {
        for (const { notification_num: num } of rows as { notification_num: number }[]) removed.set(num, (removed.get(num) ?? 0) + 1);
      };
      // seq order is creation order, so the expired entries are a prefix of the table.
      const expired = this.stmt(
        `DELETE FROM entries WHERE seq < COALESCE(
           (SELECT seq FROM entries WHERE created_at >= ? ORDER BY seq LIMIT 1),
           (SELECT COALESCE(MAX(seq), 0) + 1 FROM entries))
         RETURNING notification_num`,
      ).all(olderThan);
      collect(expired);
      const streams = this.prunedOnce
        ? [...this.touchedStreams]
        : (this.stmt('SELECT DISTINCT stream FROM entries').all() as { stream: string }[]).map((r) => r.stream);
      this.touchedStreams = new Set();
      this.prunedOnce = true;
      const capStream = this.stmt(
        `DELETE FROM entries WHERE stream = ? AND seq <= (SELECT seq FROM entries WHERE stream = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)
         RETURNING notification_num`,
      );
      let entries = expired.length;
      for (const stream of streams) {
        const rows = capStream.all(stream, stream, perStream);
        entries += rows.length;
        collect(rows);
      }
      const release = this.stmt('UPDATE notifications SET live_entries = live_entries - ? WHERE num = ? RETURNING live_entries');
      const deleteNotification = this.stmt('DELETE FROM notifications WHERE num = ?');
      const deleteMarks = this.stmt('DELETE FROM read_marks WHERE notification_num = ?');
      let notifications = 0;
      for (const [num, count] of removed) {
        const left = release.get(count, num) as { live_entries: number } | undefined;
        if (left?.live_entries !== 0) continue;
        notifications += deleteNotification.run(num).changes;
        deleteMarks.run(num);
      }
      const idempotencyKeys = this.stmt('DELETE FROM idempotency WHERE created_at < ?').run(idempotencyOlderThan).changes;
      return { entries, notifications, idempotencyKeys };
    })();
  }

  async check(): Promise<void> {
    this.stmt('SELECT 1').get();
  }

  async close(): Promise<void> {
    await this.writer.drain();
    if (this.db.open) {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    }
  }

  private ranges(userId: string): StreamRange[] {
    const topics = this.stmt('SELECT topic, since_seq FROM subscriptions WHERE user_id = ?').all(userId) as { topic: string; since_seq: number }[];
    return [
      { stream: userRoom(userId), from: 0 },
      { stream: BROADCAST_STREAM, from: 0 },
      ...topics.map((t) => ({ stream: topicRoom(t.topic), from: t.since_seq })),
    ];
  }

  private watermark(userId: string): { seq: number; at: number } {
    const row = this.stmt('SELECT seq, read_at FROM read_watermarks WHERE user_id = ?').get(userId) as { seq: number; read_at: number } | undefined;
    return row ? { seq: row.seq, at: row.read_at } : { seq: 0, at: 0 };
  }

  private toItem(row: FeedRow, watermark: { seq: number; at: number }): Notification {
    const readAt = row.read_at ?? (row.seq <= watermark.seq ? watermark.at : null);
    return toNotification(
      {
        id: row.id,
        type: row.type,
        title: row.title,
        ...(row.body === null ? {} : { body: row.body }),
        ...(row.data === null ? {} : { data: JSON.parse(row.data) as Record<string, unknown> }),
        createdAt: row.created_at,
      },
      row.seq,
      row.stream,
      readAt,
    );
  }

  /** Prepared statements, cached by their SQL (feed queries vary with the number of topics). */
  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
