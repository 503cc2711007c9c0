import type Database from 'better-sqlite3';
import type { AppendItem, IdempotencyRecord, PruneResult } from '../../domain/notification-store.js';

/**
 * An append as plain data: one flat array of primitives per request, which
 * serializes for the writer thread faster than the objects it comes from.
 */
export interface AppendOp {
  kind: 'append';
  /** The rows it inserts: each notification and each of its entries. */
  inserts: number;
  /** Per notification: id, type, title, body, data (JSON or null), createdAt, stream count, then the streams. */
  rows: (string | number | null)[];
  /** key, body hash, status, response (JSON), created at. */
  idempotency?: [string, string, string, number];
}

/**
 * A write to the SQLite file as plain data, so that it can be run on the event
 * loop's connection or be posted to the writer thread (as JSON) and run there.
 */
export type WriteOp =
  | AppendOp
  | { kind: 'markRead'; userId: string; ids: readonly string[]; at: number }
  /** Everything up to `seq` is read: the entries appended (and delivered) when the user asked. */
  | { kind: 'markAllRead'; userId: string; seq: number; at: number }
  /** The topic's feed starts after `since`: the last entry appended when the user subscribed. */
  | { kind: 'subscribe'; userId: string; topic: string; since: number; at: number }
  | { kind: 'unsubscribe'; userId: string; topic: string }
  | {
      kind: 'prune';
      olderThan: number;
      perStream: number;
      idempotencyOlderThan: number;
      /**
       * The streams whose cap to check: these, or (a sweep of the whole file, in
       * steps) the next `count` streams of the file after `after` in name order.
       */
      streams: string[] | { after: string; count: number };
      /** Entries removed at most in this one transaction; `more` in the result says that some are left. */
      maxEntries: number;
    };

/** What each kind of write returns: an append its seqs in order, (un)subscribe whether anything changed, prune its counts. */
export interface WriteResults {
  append: number[];
  markRead: null;
  markAllRead: null;
  subscribe: boolean;
  unsubscribe: boolean;
  /**
   * `last`: the last stream of a sweep's step, where the next step starts; undefined once the sweep reached the end.
   * `more`: `maxEntries` were removed and there may be more to remove: the same prune again.
   */
  prune: PruneResult & { last?: string; more: boolean };
}
export type WriteResult = WriteResults[WriteOp['kind']];

/** A failure as plain data, so that it can cross from the writer thread. */
export interface WriteError {
  message: string;
  code?: string;
}

/** One write's outcome: a write that fails is undone alone, and the others of its group still commit. */
export type WriteOutcome = { ok: WriteResult } | { error: WriteError };

/** `err` as a {@link WriteError}, keeping SQLite's code (`SQLITE_FULL`, `SQLITE_CONSTRAINT_UNIQUE`…). */
export function describeError(err: unknown): WriteError {
  const { message, code } = err as { message: string; code?: unknown };
  return typeof code === 'string' ? { message, code } : { message };
}

/** A {@link WriteError} as the Error a caller of the store receives. */
export function toError({ message, code }: WriteError): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

/** The append of `items` (and the idempotency record answering it) as one {@link AppendOp}. */
export function appendOp(items: readonly AppendItem[], idempotency: IdempotencyRecord | undefined, now: number): AppendOp {
  const rows: (string | number | null)[] = [];
  let inserts = items.length;
  for (const { notification: n, streams } of items) {
    rows.push(n.id, n.type, n.title, n.body ?? null, n.data === undefined ? null : JSON.stringify(n.data), n.createdAt, streams.length);
    for (const stream of streams) rows.push(stream);
    inserts += streams.length;
  }
  if (!idempotency) return { kind: 'append', inserts, rows };
  const { key, bodyHash, response } = idempotency;
  return { kind: 'append', inserts, rows, idempotency: [key, bodyHash, JSON.stringify(response), now] };
}

function isConstraintError(err: unknown): err is Error & { code: string } {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('SQLITE_CONSTRAINT');
}

/** Prepared statements of one connection, cached by their SQL. */
export function statementCache(db: Database.Database, capacity = 512): (sql: string) => Database.Statement {
  // Bounded: a feed's SQL carries its page size, so that pages of 1 to 100 in both directions,
  // with and without the unread filter, are 400 statements; the rest of the store needs a few dozen.
  const statements = new Map<string, Database.Statement>();
  return (sql) => {
    let statement = statements.get(sql);
    if (statement) {
      // Most recently used last: the first entry is the one to forget.
      statements.delete(sql);
    } else {
      statement = db.prepare(sql);
      if (statements.size >= capacity) statements.delete(statements.keys().next().value!);
    }
    statements.set(sql, statement);
    return statement;
  };
}

/** The pragmas of every connection to the file: a commit survives a crash (WAL, `synchronous=FULL`). */
export function configureConnection(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
}

/**
 * Runs groups of {@link WriteOp}s on one connection: a group is one transaction
 * (one fsync), each write in it a savepoint. The same code runs on the event
 * loop and on the writer thread.
 *
 * @example
 * const writes = new SqliteWrites(db);
 * const [outcome] = writes.run([appendOp(items, undefined, Date.now())]);
 */
export class SqliteWrites {
  private readonly stmt: (sql: string) => Database.Statement;
  private readonly group: (ops: readonly WriteOp[]) => WriteOutcome[];
  private readonly isolated: (ops: readonly WriteOp[]) => WriteOutcome[];

  constructor(db: Database.Database) {
    this.stmt = statementCache(db);
    this.group = db.transaction((ops: readonly WriteOp[]) => ops.map((op): WriteOutcome => ({ ok: this.write(op) })));
    // Called inside `isolated`'s transaction, better-sqlite3 makes `one` a savepoint.
    const one = db.transaction((op: WriteOp) => this.write(op));
    this.isolated = db.transaction((ops: readonly WriteOp[]) =>
      ops.map((op): WriteOutcome => {
        try {
          return { ok: one(op) };
        } catch (err) {
          if (!isConstraintError(err)) throw err;
          return { error: describeError(err) };
        }
      }),
    );
  }

  /**
   * Runs the group in one transaction; throws (and writes nothing) when the
   * transaction cannot commit. A write that breaks a constraint is refused alone:
   * the group is then written again with each write in a savepoint (which the
   * common case does not pay for). Anything else (disk full, I/O) fails the group.
   */
  run(ops: readonly WriteOp[]): WriteOutcome[] {
    try {
      return this.group(ops);
    } catch (err) {
      if (!isConstraintError(err)) throw err;
      return this.isolated(ops);
    }
  }

  private write(op: WriteOp): WriteResult {
    switch (op.kind) {
      case 'append':
        return this.append(op.rows, op.idempotency);
      case 'markRead': {
        const insert = this.stmt('INSERT OR IGNORE INTO read_marks (user_id, notification_num, read_at) SELECT ?, num, ? FROM notifications WHERE id = ?');
        for (const id of op.ids) insert.run(op.userId, op.at, id);
        return null;
      }
      case 'markAllRead':
        this.stmt(
          `INSERT INTO read_watermarks (user_id, seq, read_at) VALUES (?, ?, ?)
           ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq, read_at = excluded.read_at`,
        ).run(op.userId, op.seq, op.at);
        return null;
      case 'subscribe':
        return (
          this.stmt('INSERT OR IGNORE INTO subscriptions (user_id, topic, since_seq, created_at) VALUES (?, ?, ?, ?)').run(
            op.userId,
            op.topic,
            op.since,
            op.at,
          ).changes > 0
        );
      case 'unsubscribe':
        return this.stmt('DELETE FROM subscriptions WHERE user_id = ? AND topic = ?').run(op.userId, op.topic).changes > 0;
      case 'prune':
        return this.prune(op);
    }
  }

  private append(rows: readonly (string | number | null)[], idempotency?: AppendOp['idempotency']): number[] {
    const insertNotification = this.stmt('INSERT INTO notifications (id, type, title, body, data, created_at, live_entries) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const insertEntry = this.stmt('INSERT INTO entries (stream, notification_num, created_at) VALUES (?, ?, ?)');
    const seqs: number[] = [];
    for (let i = 0; i < rows.length; ) {
      const createdAt = rows[i + 5];
      const streams = rows[i + 6] as number;
      const num = insertNotification.run(rows[i], rows[i + 1], rows[i + 2], rows[i + 3], rows[i + 4], createdAt, streams).lastInsertRowid;
      i += 7;
      for (const end = i + streams; i < end; i++) seqs.push(Number(insertEntry.run(rows[i], num, createdAt).lastInsertRowid));
    }
    if (idempotency) this.stmt('INSERT OR REPLACE INTO idempotency (key, body_hash, response, created_at) VALUES (?, ?, ?, ?)').run(...idempotency);
    return seqs;
  }

  private prune(op: Extract<WriteOp, { kind: 'prune' }>): WriteResults['prune'] {
    // Entries removed per notification.
    const removed = new Map<number, number>();
    const collect = (rows: unknown[]) => {
      for (const { notification_num: num } of rows as { notification_num: number }[]) removed.set(num, (removed.get(num) ?? 0) + 1);
    };
    // seq order is creation order, so the expired entries are a prefix of the table: at most
    // `maxEntries` of them, the first ones.
    const expired = this.stmt(
      `DELETE FROM entries WHERE seq IN (SELECT seq FROM entries WHERE seq < COALESCE(
         (SELECT seq FROM entries WHERE created_at >= ? ORDER BY seq LIMIT 1),
         (SELECT COALESCE(MAX(seq), 0) + 1 FROM entries)) ORDER BY seq LIMIT ?)
       RETURNING notification_num`,
    ).all(op.olderThan, op.maxEntries);
    collect(expired);
    let budget = op.maxEntries - expired.length;
    const step = Array.isArray(op.streams) ? undefined : op.streams;
    const streams = Array.isArray(op.streams)
      ? op.streams
      : (this.stmt('SELECT DISTINCT stream FROM entries WHERE stream > ? ORDER BY stream LIMIT ?').all(op.streams.after, op.streams.count) as { stream: string }[]).map((r) => r.stream);
    // The oldest entries of a stream over its cap, at most `budget` of them.
    const capStream = this.stmt(
      `DELETE FROM entries WHERE seq IN (SELECT seq FROM entries WHERE stream = ?
         AND seq <= (SELECT seq FROM entries WHERE stream = ? ORDER BY seq DESC LIMIT 1 OFFSET ?) ORDER BY seq LIMIT ?)
       RETURNING notification_num`,
    );
    let entries = expired.length;
    for (const stream of streams) {
      if (budget <= 0) break;
      const rows = capStream.all(stream, stream, op.perStream, budget);
      entries += rows.length;
      budget -= rows.length;
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
    const idempotencyKeys = this.stmt('DELETE FROM idempotency WHERE created_at < ?').run(op.idempotencyOlderThan).changes;
    const last = step && streams.length === step.count ? streams.at(-1) : undefined;
    return { entries, notifications, idempotencyKeys, more: budget <= 0, ...(last === undefined ? {} : { last }) };
  }
}
