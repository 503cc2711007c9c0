import type { NotificationRecord } from './notification.js';
import type { Notification } from '../../../protocol/notification.js';

/** One notification to append to one or more streams (`user:u`, `topic:t`, `broadcast`). */
export interface AppendItem {
  notification: NotificationRecord;
  streams: readonly string[];
}

/** The stream entries an append created, in the order of `streams`. */
export interface AppendResult {
  entries: { stream: string; seq: number }[];
}

/** A response kept under an idempotency key, stored with the append it answers. */
export interface IdempotencyRecord {
  /** Scoped key: caller, route and the client's `Idempotency-Key`. */
  key: string;
  /** Hash of the request body, to tell a replay from a reuse with another body. */
  bodyHash: string;
  response: unknown;
}

export interface FeedQuery {
  /** Newest first, seq < before. */
  before?: number;
  /** Oldest first, seq > after (takes precedence over `before`). */
  after?: number;
  limit: number;
  unreadOnly?: boolean;
}

export interface FeedPage {
  items: Notification[];
  /** Whether more entries follow in the same direction. */
  hasMore: boolean;
}

/** One connecting socket's reads, as `ready` needs them (SPEC §5). */
export interface CatchUpRequest {
  userId: string;
  /** The handshake's `auth.lastSeq`; undefined: nothing missed is read. */
  afterSeq: number | undefined;
  limit: number;
}

export interface CatchUp {
  topics: string[];
  unreadCount: number;
  /** Entries after `afterSeq`, oldest first (empty without it). */
  missed: FeedPage;
}

export interface PruneResult {
  entries: number;
  notifications: number;
  idempotencyKeys: number;
}

/**
 * Entries a prune removes per atomic step, at most: about 25 ms of SQLite work
 * here. In one step, the 2 million entries over the cap of one stream that the
 * benchmark flooded held every write up for more than 10 s.
 */
export const PRUNE_STEP_ENTRIES = 5000;
/**
 * Where notifications, feeds, read state, subscriptions and idempotency keys
 * live. SQLite implements it for one node; Redis implements it for a cluster.
 * Every `seq` it hands out is unique and increasing across the deployment.
 */
export interface NotificationStore {
  /**
   * Persists the items (and the idempotency record, if any) atomically and
   * durably; resolves once committed. Implementations group concurrent calls
   * into one write.
   */
  append(items: readonly AppendItem[], idempotency?: IdempotencyRecord): Promise<AppendResult[]>;
  /** A kept idempotency record younger than `maxAgeMs`. */
  getIdempotency(key: string, maxAgeMs: number): Promise<IdempotencyRecord | undefined>;
  /**
   * Claims `key` for one request across the deployment for `ttlMs`; false when
   * another request (on any node) holds it. Released by `releaseIdempotency`
   * when the request fails, or superseded by the record its append writes.
   */
  claimIdempotency(key: string, ttlMs: number): Promise<boolean>;
  releaseIdempotency(key: string): Promise<void>;

  feed(userId: string, query: FeedQuery): Promise<FeedPage>;
  unreadCount(userId: string): Promise<number>;
  /** The unread count of each user, in the order given, in one store round (one read transaction, one pipeline). */
  unreadCounts(userIds: readonly string[]): Promise<number[]>;
  /** Marks the given notification ids read for this user; unknown ids are ignored. */
  markRead(userId: string, ids: readonly string[]): Promise<void>;
  markAllRead(userId: string): Promise<void>;

  subscriptions(userId: string): Promise<string[]>;
  /** The topics of each user, in the order given: one store round for many users (a reconnect storm). */
  subscriptionsOf(userIds: readonly string[]): Promise<string[][]>;
  /**
   * Topics, unread count and missed entries of each request, in the order
   * given: the reads of many reconnecting sockets in one store round (one read
   * transaction in SQLite, one pipeline in Redis). A store shared by several
   * nodes starts `missed` somewhat before `afterSeq` (RedisStore: 10-20 s of
   * seqs, and from the start of a recorded delivery gap), because live delivery
   * between nodes is not in seq order; the client drops what it has by seq.
   */
  catchUp(requests: readonly CatchUpRequest[]): Promise<CatchUp[]>;
  /** Resolves whether anything changed. */
  subscribe(userId: string, topic: string): Promise<boolean>;
  unsubscribe(userId: string, topic: string): Promise<boolean>;

  /**
   * Applies retention: entries older than `olderThan`, beyond `perStream` per stream, stale idempotency keys.
   * It removes at most {@link PRUNE_STEP_ENTRIES} entries per atomic step (a transaction, a script), so that
   * other writes go in between and a stream flooded far over its cap holds nobody up.
   */
  prune(olderThan: number, perStream: number, idempotencyOlderThan: number): Promise<PruneResult>;
  /** Throws when the store cannot serve requests. */
  check(): Promise<void>;
  /** Flushes pending writes and releases the store. */
  close(): Promise<void>;
}
