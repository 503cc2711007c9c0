import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { toNotification } from '../../domain/notification.js';
import type { Notification } from '../../../../protocol/notification.js';
import { GroupCommit } from './group-commit.js';
import { appendOp, configureConnection, SqliteWrites, statementCache, toError, type WriteOp, type WriteOutcome, type WriteResults } from './writes.js';
import { WriterThread, WriterThreadUnavailable, type WriterThreadData } from './writer-thread.js';
import { migrateSchema } from './schema.js';
import type {
  AppendItem,
  AppendResult,
  CatchUp,
  CatchUpRequest,
  FeedPage,
  FeedQuery,
  IdempotencyRecord,
  NotificationStore,
  PruneResult,
} from '../../domain/notification-store.js';
import { feedRanges, type TopicSubscription } from '../../domain/feed-rule.js';
import { PRUNE_STEP_ENTRIES } from '../../domain/notification-store.js';

interface StreamRange {
  stream: string;
  /** Entries with seq greater than this belong to the feed. */
  from: number;
}

/** A user as the feed reads see them. */
interface FeedReader {
  userId: string;
  topics: string[];
  ranges: StreamRange[];
  watermark: { seq: number; at: number };
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
  /**
   * A group of writes that inserts at least this many rows (a notification and
   * each of its entries are one row each) is written on the writer thread;
   * smaller ones on the event loop, where they cost less than the hop. 0 sends
   * every group to the thread.
   * @default 400
   */
  writerThreadMinRows?: number;
  /** Told when the writer thread cannot start (its groups are then written on the event loop). */
  log?: Pick<Logger, 'warn'>;
  /** Starts the writer thread. @default startWriterWorker */
  startWriter?: (data: WriterThreadData) => Worker;
  /** Streams capped per transaction of the first prune, which sweeps the whole file. @default 1000 */
  pruneStepStreams?: number;
  /** Entries removed per transaction of a prune. @default PRUNE_STEP_ENTRIES */
  pruneStepEntries?: number;
}

/**
 * About 2 ms of SQLite work on this kind of machine (two batches of 100
 * single-recipient notifications): below it a group is cheaper to write on the
 * event loop than to copy to the thread (bench/RESULTS.md).
 */
const DEFAULT_WRITER_THREAD_MIN_ROWS = 400;
/** Streams capped per transaction of the first prune after a start, which sweeps the whole file. */
const DEFAULT_PRUNE_STEP_STREAMS = 1000;

/**
 * The feed rule as one statement for many users: `@windows` is a JSON array
 * of `[request, userId, stream, after, before]`, one per stream of each
 * request's user, and each window gives at most `cap` entries (the page size
 * plus one, to tell whether more follow), oldest or newest first; the rows come
 * by request, in the page's order. The cap is written into the SQL: as a
 * parameter of the correlated subquery it made the statement three times slower.
 */
function feedSql(direction: 'ASC' | 'DESC', unreadOnly: boolean, cap: number): string {
  if (!Number.isSafeInteger(cap) || cap < 1) throw new RangeError(`a feed's cap must be a positive integer, not ${cap}`);
  const unread = unreadOnly ? 'AND NOT EXISTS (SELECT 1 FROM read_marks m WHERE m.user_id = w.value->>1 AND m.notification_num = x.notification_num)' : '';
  return `SELECT w.value->>0 AS i, e.seq, e.stream, n.id, n.type, n.title, n.body, n.data, n.created_at, r.read_at
    FROM json_each(@windows) w
    JOIN entries e ON e.seq IN (
      SELECT x.seq FROM entries x WHERE x.stream = w.value->>2 AND x.seq > w.value->>3 AND x.seq < w.value->>4 ${unread}
      ORDER BY x.seq ${direction} LIMIT ${cap})
    JOIN notifications n ON n.num = e.notification_num
    LEFT JOIN read_marks r ON r.user_id = w.value->>1 AND r.notification_num = e.notification_num
    ORDER BY 1, e.seq ${direction}`;
}

/**
 * The embedded store: one SQLite file in WAL mode with `synchronous=FULL`, so a
 * commit survives a crash. Every write goes through one queue that groups
 * concurrent writes into one transaction, so durability costs one fsync per
 * group rather than per request; one group is written at a time, so the two
 * connections never wait for each other's lock. Small groups are written on the
 * event loop; large ones (batches) on the writer thread, so that their inserts
 * and fsync do not hold up sockets and the parsing of the next requests. Reads
 * run on the event loop's connection and see every write that has resolved.
 */
export class SqliteStore implements NotificationStore {
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly stmt: (sql: string) => Database.Statement;
  /** Writes on the event loop's connection. */
  private readonly local: SqliteWrites;
  private readonly thread: WriterThread;
  private readonly queue: GroupCommit<WriteOp, WriteOutcome>;
  private readonly threadMinRows: number;
  private readonly log: Pick<Logger, 'warn'> | undefined;
  /**
   * The highest seq of the appends that have resolved (and so been delivered):
   * "mark all read" and a new subscription are taken as of it, so that an append
   * still being written counts as unread and as part of the new topic.
   */
  private appendedSeq: number;
  /** Streams appended to since the last prune, whose per-stream cap must be checked. */
  private touchedStreams = new Set<string>();
  private prunedOnce = false;
  private readonly pruneStepStreams: number;
  private readonly pruneStepEntries: number;

  constructor(opts: SqliteStoreOptions) {
    mkdirSync(opts.dataDir, { recursive: true });
    this.db = new Database(path.join(opts.dataDir, opts.fileName ?? 'herald.db'));
    try {
      configureConnection(this.db);
      migrateSchema(this.db);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.now = opts.now ?? Date.now;
    this.pruneStepStreams = opts.pruneStepStreams ?? DEFAULT_PRUNE_STEP_STREAMS;
    this.pruneStepEntries = opts.pruneStepEntries ?? PRUNE_STEP_ENTRIES;
    this.stmt = statementCache(this.db);
    this.local = new SqliteWrites(this.db);
    this.thread = new WriterThread(this.db.name, opts.startWriter);
    this.threadMinRows = opts.writerThreadMinRows ?? DEFAULT_WRITER_THREAD_MIN_ROWS;
    this.log = opts.log;
    this.appendedSeq = (this.stmt("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'entries'), 0) AS seq").get() as { seq: number }).seq;
    this.queue = new GroupCommit((ops) => (this.onThread(ops) ? this.runOnThread(ops) : this.local.run(ops)));
  }

  private onThread(ops: readonly WriteOp[]): boolean {
    if (!this.thread.usable) return false;
    let rows = 0;
    for (const op of ops) if (op.kind === 'append') rows += op.inserts;
    return rows >= this.threadMinRows;
  }

  private async runOnThread(ops: readonly WriteOp[]): Promise<WriteOutcome[]> {
    try {
      return await this.thread.run(ops);
    } catch (err) {
      if (!(err instanceof WriterThreadUnavailable)) throw err;
      // It wrote nothing: write the group here, as every later one.
      this.log?.warn({ err }, 'SQLite writer thread unavailable; writing on the event loop');
      return this.local.run(ops);
    }
  }

  async append(items: readonly AppendItem[], idempotency?: IdempotencyRecord): Promise<AppendResult[]> {
    for (const { streams } of items) for (const stream of streams) this.touchedStreams.add(stream);
    const seqs = await this.write(appendOp(items, idempotency, this.now()));
    // seqs increase within an append, and groups are written one at a time.
    if (seqs.length > 0) this.appendedSeq = Math.max(this.appendedSeq, seqs[seqs.length - 1]!);
    let next = 0;
    return items.map(({ streams }) => ({ entries: streams.map((stream) => ({ stream, seq: seqs[next++]! })) }));
  }

  /** Queues the write for the next group; resolves with its result once its group is committed. */
  private async write<Op extends WriteOp>(op: Op): Promise<WriteResults[Op['kind']]> {
    const outcome = await this.queue.submit(op);
    if ('error' in outcome) throw toError(outcome.error);
    // SqliteWrites answers each op with the result of its kind.
    return outcome.ok as WriteResults[Op['kind']];
  }

  async getIdempotency(key: string, maxAgeMs: number): Promise<IdempotencyRecord | undefined> {
    const row = this.stmt('SELECT body_hash, response, created_at FROM idempotency WHERE key = ?').get(key) as
      | { body_hash: string; response: string; created_at: number }
      | undefined;
    if (!row || row.created_at < this.now() - maxAgeMs) return undefined;
    return { key, bodyHash: row.body_hash, response: JSON.parse(row.response) as unknown };
  }

  // One process owns the file, and the service already serializes requests per key in it.
  async claimIdempotency(): Promise<boolean> {
    return true;
  }

  async releaseIdempotency(): Promise<void> {}

  async feed(userId: string, query: FeedQuery): Promise<FeedPage> {
    return this.readTogether(() => this.readFeeds([{ reader: this.readers([userId])[0]!, query }])[0]!);
  }

  async unreadCount(userId: string): Promise<number> {
    return this.readTogether(() => this.readUnreadCounts(this.readers([userId]))[0]!);
  }

  async unreadCounts(userIds: readonly string[]): Promise<number[]> {
    return this.readTogether(() => this.readUnreadCounts(this.readers(userIds)));
  }

  async markRead(userId: string, ids: readonly string[]): Promise<void> {
    await this.write({ kind: 'markRead', userId, ids, at: this.now() });
  }

  async markAllRead(userId: string): Promise<void> {
    await this.write({ kind: 'markAllRead', userId, seq: this.appendedSeq, at: this.now() });
  }

  async subscriptions(userId: string): Promise<string[]> {
    return this.readSubscriptions([userId])[0]!.map((s) => s.topic);
  }

  async subscriptionsOf(userIds: readonly string[]): Promise<string[][]> {
    return this.readSubscriptions(userIds).map((subs) => subs.map((s) => s.topic));
  }

  /**
   * Every request read in one transaction (one snapshot), with one statement of
   * each kind for the whole batch rather than one per user: a reconnect storm's
   * batch of 50 is four statements. A user asked twice is read once.
   */
  async catchUp(requests: readonly CatchUpRequest[]): Promise<CatchUp[]> {
    return this.readTogether(() => {
      const userIds = [...new Set(requests.map((r) => r.userId))];
      const readers = this.readers(userIds);
      const byUser = new Map(readers.map((reader, i) => [reader.userId, i]));
      const counts = this.readUnreadCounts(readers);
      const asked = requests.filter((r) => r.afterSeq !== undefined);
      const pages = this.readFeeds(asked.map((r) => ({ reader: readers[byUser.get(r.userId)!]!, query: { after: r.afterSeq, limit: r.limit } })));
      const missed = new Map(asked.map((r, i) => [r, pages[i]!]));
      return requests.map((r) => {
        const i = byUser.get(r.userId)!;
        return { topics: readers[i]!.topics, unreadCount: counts[i]!, missed: missed.get(r) ?? { items: [], hasMore: false } };
      });
    });
  }

  /** Runs synchronous reads in one read transaction: one snapshot and one lock for all of them. */
  private readTogether<T>(read: () => T): T {
    if (this.db.inTransaction) return read();
    this.stmt('BEGIN').run();
    try {
      return read();
    } finally {
      this.stmt('COMMIT').run();
    }
  }

  async subscribe(userId: string, topic: string): Promise<boolean> {
    return this.write({ kind: 'subscribe', userId, topic, since: this.appendedSeq, at: this.now() });
  }

  async unsubscribe(userId: string, topic: string): Promise<boolean> {
    return this.write({ kind: 'unsubscribe', userId, topic });
  }

  async prune(olderThan: number, perStream: number, idempotencyOlderThan: number): Promise<PruneResult> {
    const total: PruneResult = { entries: 0, notifications: 0, idempotencyKeys: 0 };
    // One prune is many writes, each of at most `pruneStepEntries` entries: another write waiting goes in
    // between two of them (the group commit's turn), so that a flooded stream holds nobody up.
    const step = async (streams: Extract<WriteOp, { kind: 'prune' }>['streams'], ages: boolean): Promise<string | undefined> => {
      for (;;) {
        const result: WriteResults['prune'] = await this.write({
          kind: 'prune',
          olderThan: ages ? olderThan : 0,
          perStream,
          idempotencyOlderThan: ages ? idempotencyOlderThan : 0,
          streams,
          maxEntries: this.pruneStepEntries,
        });
        total.entries += result.entries;
        total.notifications += result.notifications;
        total.idempotencyKeys += result.idempotencyKeys;
        if (!result.more) return result.last;
      }
    };
    // The first prune checks every stream in the file; later ones those appended to since.
    if (this.prunedOnce) {
      const streams = [...this.touchedStreams];
      this.touchedStreams = new Set();
      try {
        await step(streams, true);
        return total;
      } catch (err) {
        for (const stream of streams) this.touchedStreams.add(stream);
        throw err;
      }
    }
    // The first one runs right after a start, when a restarted node's clients come back all at
    // once: in one transaction it held the event loop for about 30 ms at 10,000 streams, so it goes in
    // steps of `pruneStepStreams`, each its own transaction, with the loop free between them.
    this.touchedStreams = new Set();
    this.prunedOnce = true;
    try {
      let after: string | undefined = '';
      // The age cut-off and the idempotency keys need one pass: the first step's.
      for (let first = true; after !== undefined; first = false) after = await step({ after, count: this.pruneStepStreams }, first);
    } catch (err) {
      this.prunedOnce = false;
      throw err;
    }
    return total;
  }


  async check(): Promise<void> {
    this.stmt('SELECT 1').get();
  }

  async close(): Promise<void> {
    await this.queue.drain();
    await this.thread.close();
    if (this.db.open) {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    }
  }

  /** Each user's subscriptions (topic and the seq it counts from), by topic, in one statement. */
  private readSubscriptions(userIds: readonly string[], idsJson = JSON.stringify(userIds)): TopicSubscription[][] {
    const subs = userIds.map((): TopicSubscription[] => []);
    const rows = this.stmt(
      'SELECT u.key AS i, s.topic, s.since_seq FROM json_each(?) u JOIN subscriptions s ON s.user_id = u.value ORDER BY u.key, s.topic',
    ).all(idsJson) as { i: number; topic: string; since_seq: number }[];
    for (const row of rows) subs[row.i]!.push({ topic: row.topic, since: row.since_seq });
    return subs;
  }

  /**
   * What the feed reads need of each user, in two statements for all of them:
   * the streams of the feed rule (their own, the broadcast one, each topic from
   * the seq of subscribing) and the read watermark.
   */
  private readers(userIds: readonly string[]): FeedReader[] {
    // By position, not by the id read back: an id that is not well-formed UTF-16 (a lone
    // surrogate in a token's `sub`) does not come back from SQLite as the same string.
    const idsJson = JSON.stringify(userIds);
    const watermarks = new Map<number, { seq: number; at: number }>();
    const rows = this.stmt('SELECT u.key AS i, w.seq, w.read_at FROM json_each(?) u JOIN read_watermarks w ON w.user_id = u.value').all(idsJson) as { i: number; seq: number; read_at: number }[];
    for (const row of rows) watermarks.set(row.i, { seq: row.seq, at: row.read_at });
    return this.readSubscriptions(userIds, idsJson).map((subs, i) => {
      const userId = userIds[i]!;
      return {
        userId,
        topics: subs.map((s) => s.topic),
        ranges: feedRanges(userId, subs),
        watermark: watermarks.get(i) ?? { seq: 0, at: 0 },
      };
    });
  }

  /**
   * Each reader's unread count, in one statement: per stream, the entries above
   * the reader's watermark (and the topic's start) without a read mark.
   */
  private readUnreadCounts(readers: readonly FeedReader[]): number[] {
    const windows = readers.flatMap((reader, i) => reader.ranges.map((range) => [i, reader.userId, range.stream, Math.max(range.from, reader.watermark.seq)]));
    const counts = readers.map(() => 0);
    // A count per window rather than one GROUP BY: no sorter, a quarter faster.
    const rows = this.stmt(
      `SELECT w.value->>0 AS i, (SELECT COUNT(*) FROM entries e WHERE e.stream = w.value->>2 AND e.seq > w.value->>3
         AND NOT EXISTS (SELECT 1 FROM read_marks r WHERE r.user_id = w.value->>1 AND r.notification_num = e.notification_num)) AS n
       FROM json_each(?) w`,
    ).all(JSON.stringify(windows)) as { i: number; n: number }[];
    for (const row of rows) counts[row.i]! += row.n;
    return counts;
  }

  /**
   * A page of feed for each request: per stream at most `limit + 1` entries in
   * the window (an indexed range each), merged by seq per request and cut to the
   * page, in one statement per shape of query (direction, unread only, limit)
   * rather than one per user.
   */
  private readFeeds(requests: readonly { reader: FeedReader; query: FeedQuery }[]): FeedPage[] {
    const pages = requests.map((): FeedPage => ({ items: [], hasMore: false }));
    const shapes = new Map<string, number[]>();
    requests.forEach(({ query }, i) => {
      const shape = `${query.after !== undefined}|${query.unreadOnly === true}|${query.limit}`;
      const same = shapes.get(shape);
      if (same) same.push(i);
      else shapes.set(shape, [i]);
    });
    for (const indexes of shapes.values()) {
      const { query } = requests[indexes[0]!]!;
      const ascending = query.after !== undefined;
      const windows = indexes.flatMap((i) => {
        const { reader, query: own } = requests[i]!;
        const floor = Math.max(own.after ?? 0, own.unreadOnly ? reader.watermark.seq : 0);
        const ceiling = ascending ? Number.MAX_SAFE_INTEGER : (own.before ?? Number.MAX_SAFE_INTEGER);
        return reader.ranges.map((range) => [i, reader.userId, range.stream, Math.max(range.from, floor), ceiling]);
      });
      const rows = this.stmt(feedSql(ascending ? 'ASC' : 'DESC', query.unreadOnly === true, query.limit + 1)).all({ windows: JSON.stringify(windows) }) as (FeedRow & {
        i: number;
      })[];
      for (const row of rows) {
        const page = pages[row.i]!;
        if (page.items.length < query.limit) page.items.push(this.toItem(row, requests[row.i]!.reader.watermark));
        else page.hasMore = true;
      }
    }
    return pages;
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
}
