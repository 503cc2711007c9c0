import type Database from 'better-sqlite3';

/**
 * `notifications` is a rowid table: entries and read marks refer to a
 * notification by its integer `num`, and the public ULID `id` is a unique
 * column, so that entries and read marks carry 8-byte integers rather than the
 * 30-byte id. `live_entries` counts the entries that retention has not removed
 * yet; the notification goes with its last one, with its read marks. (That
 * count replaces an index of entries by notification, one B-tree insert less per
 * entry.) A `num` may be handed out again once its notification is gone: nothing
 * refers to it any more.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS notifications (
  num INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, title TEXT NOT NULL, body TEXT, data TEXT, created_at INTEGER NOT NULL,
  live_entries INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, notification_num INTEGER NOT NULL, created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_stream_seq ON entries (stream, seq);
CREATE TABLE IF NOT EXISTS subscriptions (
  user_id TEXT NOT NULL, topic TEXT NOT NULL, since_seq INTEGER NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, topic)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS read_marks (
  user_id TEXT NOT NULL, notification_num INTEGER NOT NULL, read_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, notification_num)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS read_marks_notification ON read_marks (notification_num);
CREATE TABLE IF NOT EXISTS read_watermarks (
  user_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, read_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idempotency (
  key TEXT PRIMARY KEY, body_hash TEXT NOT NULL, response TEXT NOT NULL, created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency (created_at);
`;

/**
 * Kept in `PRAGMA user_version`. 0: no schema yet, or the first one
 * (notifications keyed by their ULID); 2: idempotency records with an HTTP
 * status (every one a 202, so the column went).
 */
export const SCHEMA_VERSION = 3;

const MIGRATE_FROM_V2 = 'ALTER TABLE idempotency DROP COLUMN status;';

/**
 * From the first schema, where entries and read marks referred to notifications
 * by their ULID: the three tables are copied into the new shape (the old
 * `entries_notification` index serves the counts, and goes with its table). The
 * entries keep their `seq`, and the AUTOINCREMENT high-water mark is carried
 * over, so that no `seq` is ever handed out twice.
 */
const MIGRATE_FROM_V1 = `
ALTER TABLE notifications RENAME TO notifications_v1;
ALTER TABLE entries RENAME TO entries_v1;
ALTER TABLE read_marks RENAME TO read_marks_v1;
DROP INDEX entries_stream_seq;
DROP INDEX read_marks_notification;
${SCHEMA}
INSERT INTO notifications (id, type, title, body, data, created_at, live_entries)
  SELECT * FROM (
    SELECT id, type, title, body, data, created_at, (SELECT COUNT(*) FROM entries_v1 e WHERE e.notification_id = n.id) AS live
    FROM notifications_v1 n
  ) WHERE live > 0 ORDER BY id;
INSERT INTO entries (seq, stream, notification_num, created_at)
  SELECT e.seq, e.stream, n.num, e.created_at FROM entries_v1 e JOIN notifications n ON n.id = e.notification_id;
INSERT INTO read_marks (user_id, notification_num, read_at)
  SELECT r.user_id, n.num, r.read_at FROM read_marks_v1 r JOIN notifications n ON n.id = r.notification_id;
DELETE FROM sqlite_sequence WHERE name = 'entries';
UPDATE sqlite_sequence SET name = 'entries' WHERE name = 'entries_v1';
DROP TABLE read_marks_v1;
DROP TABLE entries_v1;
DROP TABLE notifications_v1;
`;

/**
 * Creates SqliteStore's schema in a new database, or brings an older one up to
 * {@link SCHEMA_VERSION}, in one transaction. A database from a newer Herald is
 * refused rather than misread.
 *
 * @example
 * const db = new Database(file);
 * migrateSchema(db);
 */
export function migrateSchema(db: Database.Database): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`${db.name} has schema version ${version}, newer than this Herald's (${SCHEMA_VERSION})`);
    }
    if (version === SCHEMA_VERSION) return;
    const v1 = version < 2 && db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'notifications'").get() !== undefined;
    // The first schema's migration keeps its idempotency table as it was, in the second's shape.
    if (version < 2) db.exec(v1 ? MIGRATE_FROM_V1 : SCHEMA);
    if (version === 2 || v1) db.exec(MIGRATE_FROM_V2);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}
