import type { Redis } from 'ioredis';
import { toNotification, type NotificationRecord } from '../../domain/notification.js';
import type { Notification } from '../../../../protocol/notification.js';
import {
  APPEND,
  FEED,
  MARK_ALL_READ,
  MARK_READ,
  PRUNE_BY_AGE,
  PRUNE_BY_COUNT,
  PRUNE_IDEMPOTENCY,
  RECORD_GAP,
  RESUME_POINTS,
  SEQ_CLOCK,
  SUBSCRIBE,
  UNREAD_COUNT,
  UNSUBSCRIBE,
  isNoScript,
  redisKeys,
  type LuaScript,
  type ScriptArg,
} from './scripts.js';
import { IDEMPOTENCY_TTL_MS } from '../../../../protocol/requests.js';
import type { AppendItem, AppendResult, CatchUp, CatchUpRequest, FeedPage, FeedQuery, IdempotencyRecord, NotificationStore, PruneResult } from '../../domain/notification-store.js';
import { PRUNE_STEP_ENTRIES } from '../../domain/notification-store.js';

const DAY = 86_400_000;
/** The seq clock's resolution: a reconnecting client resumes 10-20 s of seqs before its lastSeq. */
const SEQ_CLOCK_BUCKET_MS = 10_000;
const RESUME_BUCKETS_BACK = 1;
/** How much one prune script call handles, so that no call blocks Redis for long. */
const PRUNE_BATCH = 200;

export interface RedisStoreOptions {
  /** A connected ioredis client, owned by the caller (the store never quits it). It must not use `keyPrefix`. */
  redis: Redis;
  /** Prepended to every key. @default "herald:" */
  prefix?: string;
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /**
   * Lifetime of notifications, streams and read marks, so that nothing outlives the retention even if
   * prune never runs. Must not be shorter than the retention prune applies. @default 30 days
   */
  retentionMs?: number;
  /** Lifetime of an idempotency record. @default IDEMPOTENCY_TTL_MS (24 hours) */
  idempotencyTtlMs?: number;
  /** Entries a run of the per-stream cap script removes at most (a script holds every other client up). @default PRUNE_STEP_ENTRIES */
  pruneStepEntries?: number;
}

/** One command of a read pipeline: a Lua script with its arguments (after the prefix), or a plain read. */
type PipelinedCall = { script: LuaScript; args: readonly ScriptArg[] } | { command: readonly ['hkeys', string] };

interface PendingAppend {
  args: ScriptArg[];
  resolve: (first: number) => void;
  reject: (err: unknown) => void;
}

/** The idempotency record as kept in Redis: the interface's fields plus when it was made. */
interface StoredIdempotency {
  bodyHash: string;
  response: unknown;
  createdAt: number;
}

/**
 * The cluster store: every node shares one Redis holding notifications (once
 * each), one sorted set per stream scored by `seq`, read state, subscriptions
 * and idempotency records. The `seq` comes from one counter, so it is unique
 * and increasing across nodes. Each append is one Lua script (atomic, with its
 * idempotency record); the appends submitted within one turn of the event loop
 * travel in one pipeline, i.e. one round trip.
 *
 * Redis failures reject the returned promises; give the client a small
 * `maxRetriesPerRequest` and `enableOfflineQueue: false` so that they do so at once.
 *
 * @example
 * const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
 * const store = new RedisStore({ redis, retentionMs: 30 * DAY });
 */
export class RedisStore implements NotificationStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly keys: ReturnType<typeof redisKeys>;
  private readonly now: () => number;
  private readonly retentionMs: number;
  private readonly idempotencyTtlMs: number;
  private readonly pruneStepEntries: number;
  private queue: PendingAppend[] = [];
  private scheduled = false;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(opts: RedisStoreOptions) {
    if (opts.redis.options.keyPrefix) {
      throw new Error('RedisStore: use the `prefix` option, not the client keyPrefix (its scripts build keys themselves)');
    }
    this.redis = opts.redis;
    this.prefix = opts.prefix ?? 'herald:';
    this.keys = redisKeys(this.prefix);
    this.now = opts.now ?? Date.now;
    this.retentionMs = Math.max(1, Math.round(opts.retentionMs ?? 30 * DAY));
    this.idempotencyTtlMs = Math.max(1, Math.round(opts.idempotencyTtlMs ?? IDEMPOTENCY_TTL_MS));
    this.pruneStepEntries = Math.max(1, Math.floor(opts.pruneStepEntries ?? PRUNE_STEP_ENTRIES));
  }

  /**
   * Stores each notification once and adds one entry per stream; resolves once
   * Redis has run the script. A notification lists each stream at most once.
   */
  append(items: readonly AppendItem[], idempotency?: IdempotencyRecord): Promise<AppendResult[]> {
    if (this.closed) return Promise.reject(new Error('RedisStore is closed'));
    for (const { notification, streams } of items) {
      // A stream's sorted set holds a notification once: a repeated stream would lose an entry.
      if (new Set(streams).size !== streams.length) {
        return Promise.reject(new Error(`append: notification ${notification.id} lists a stream twice`));
      }
    }
    const args = this.appendArgs(items, idempotency);
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ args, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    }).then((first) => {
      let seq = first;
      return items.map(({ streams }) => ({ entries: streams.map((stream) => ({ stream, seq: seq++ })) }));
    });
  }

  /** The kept idempotency record for `key`, if it is younger than `maxAgeMs` by the store clock. */
  async getIdempotency(key: string, maxAgeMs: number): Promise<IdempotencyRecord | undefined> {
    const raw = await this.redis.get(this.keys.idempotency(key));
    if (raw === null) return undefined;
    const stored = JSON.parse(raw) as StoredIdempotency;
    if (stored.createdAt < this.now() - maxAgeMs) return undefined;
    return { key, bodyHash: stored.bodyHash, response: stored.response };
  }

  async claimIdempotency(key: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(`${this.keys.idempotency(key)}:claim`, '1', 'PX', ttlMs, 'NX')) === 'OK';
  }

  async releaseIdempotency(key: string): Promise<void> {
    await this.redis.del(`${this.keys.idempotency(key)}:claim`);
  }

  /** One page of the user's feed (own stream, broadcast, subscribed topics), in one script call. */
  async feed(userId: string, query: FeedQuery): Promise<FeedPage> {
    return this.toFeedPage(await this.script(FEED, this.feedArgs(userId, query)));
  }

  private feedArgs(userId: string, query: FeedQuery): ScriptArg[] {
    const ascending = query.after !== undefined;
    const bound = ascending ? query.after : query.before;
    return [userId, ascending ? '1' : '0', bound === undefined ? '' : bound, query.limit, query.unreadOnly ? '1' : '0'];
  }

  private toFeedPage(raw: unknown): FeedPage {
    const reply = raw as (number | string | null)[];
    const items: Notification[] = [];
    for (let i = 1; i < reply.length; i += 4) {
      const record = JSON.parse(reply[i + 2] as string) as NotificationRecord;
      const readAt = reply[i + 3] as number | null;
      items.push(toNotification(record, reply[i] as number, reply[i + 1] as string, readAt));
    }
    return { items, hasMore: reply[0] === 1 };
  }

  /** Counts unread entries with ZCOUNT per stream; never loads a stream. */
  async unreadCount(userId: string): Promise<number> {
    return (await this.script(UNREAD_COUNT, [userId])) as number;
  }

  /** Every user's unread count, in one pipeline. */
  async unreadCounts(userIds: readonly string[]): Promise<number[]> {
    return (await this.pipelined(userIds.map((userId) => ({ script: UNREAD_COUNT, args: [userId] })))) as number[];
  }

  /** Marks the ids read at the store clock; ids not in the user's feed are ignored. */
  async markRead(userId: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.script(MARK_READ, [userId, this.now(), this.retentionMs, ...ids]);
  }

  /** Marks everything up to the last seq handed out as read, at the store clock. */
  async markAllRead(userId: string): Promise<void> {
    await this.script(MARK_ALL_READ, [userId, this.now()]);
  }

  /** The user's topics, sorted. */
  async subscriptions(userId: string): Promise<string[]> {
    return (await this.redis.hkeys(this.keys.subscriptions(userId))).sort();
  }

  /** Every user's topics (sorted), in one pipeline. */
  async subscriptionsOf(userIds: readonly string[]): Promise<string[][]> {
    const replies = await this.pipelined(userIds.map((userId) => ({ command: ['hkeys', this.keys.subscriptions(userId)] as const })));
    return replies.map((topics) => (topics as string[]).sort());
  }

  /**
   * The reads of many connecting sockets in one pipeline (one round trip):
   * per request its topics, its unread count and, with `afterSeq`, its missed entries.
   */
  async catchUp(requests: readonly CatchUpRequest[]): Promise<CatchUp[]> {
    // Resume a little earlier than asked: see RESUME_POINTS. One script call for the whole batch.
    const asked = requests.flatMap((r) => (r.afterSeq === undefined ? [] : [r.afterSeq]));
    const resumePoints = asked.length === 0 ? [] : ((await this.script(RESUME_POINTS, [RESUME_BUCKETS_BACK, Math.floor(this.now() / SEQ_CLOCK_BUCKET_MS), ...asked])) as number[]);
    let nextPoint = 0;
    const calls: PipelinedCall[] = [];
    for (const { userId, afterSeq, limit } of requests) {
      calls.push({ command: ['hkeys', this.keys.subscriptions(userId)] }, { script: UNREAD_COUNT, args: [userId] });
      if (afterSeq !== undefined) calls.push({ script: FEED, args: this.feedArgs(userId, { after: resumePoints[nextPoint++]!, limit }) });
    }
    const replies = await this.pipelined(calls);
    let next = 0;
    return requests.map(({ afterSeq }) => ({
      topics: (replies[next++] as string[]).sort(),
      unreadCount: replies[next++] as number,
      missed: afterSeq === undefined ? { items: [], hasMore: false } : this.toFeedPage(replies[next++]),
    }));
  }

  /**
   * Runs the calls in one pipeline and resolves their replies in order; rejects
   * with the first error. Scripts Redis no longer has cached (NOSCRIPT, after a
   * restart) are loaded and the whole pipeline, which only reads, runs again once.
   */
  private async pipelined(calls: readonly PipelinedCall[], reloaded = false): Promise<unknown[]> {
    if (calls.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const call of calls) {
      if ('script' in call) call.script.queue(pipeline, [], [this.prefix, ...call.args]);
      else pipeline[call.command[0]](call.command[1]);
    }
    const replies = await pipeline.exec();
    if (!replies || replies.length !== calls.length) throw new Error('Redis answered a read pipeline with the wrong number of replies');
    const failed = replies.find(([err]) => err)?.[0];
    if (!failed) return replies.map(([, value]) => value);
    if (!isNoScript(failed) || reloaded) throw failed;
    const scripts = new Set(calls.flatMap((call) => ('script' in call ? [call.script] : [])));
    await Promise.all([...scripts].map((script) => script.load(this.redis)));
    return this.pipelined(calls, true);
  }

  /**
   * Notes the seq handed out so far in the seq clock (10 s buckets) and resolves
   * it: called by every node's heartbeat, it lets a reconnecting client's resume
   * point be moved back by a bucket (see {@link catchUp}).
   */
  async tickSeqClock(now = this.now()): Promise<number> {
    return (await this.script(SEQ_CLOCK, [now, SEQ_CLOCK_BUCKET_MS])) as number;
  }

  /** Records that live delivery may have lost the entries with from < seq <= to (a Redis outage between nodes). */
  async recordGap(from: number, to: number): Promise<void> {
    if (to > from) await this.script(RECORD_GAP, [from, to]);
  }

  /** Subscribes from the current seq on; resolves whether the user was not subscribed yet. */
  async subscribe(userId: string, topic: string): Promise<boolean> {
    return (await this.script(SUBSCRIBE, [userId, topic])) === 1;
  }

  /** Resolves whether the user was subscribed. */
  async unsubscribe(userId: string, topic: string): Promise<boolean> {
    return (await this.script(UNSUBSCRIBE, [userId, topic])) === 1;
  }

  /**
   * Removes notifications created before `olderThan` (walking them in seq order),
   * caps every stream appended to since the last prune (by any node) at
   * `perStream` entries, and deletes idempotency records made before
   * `idempotencyOlderThan`. Works in batches, each one atomic.
   */
  async prune(olderThan: number, perStream: number, idempotencyOlderThan: number): Promise<PruneResult> {
    const total: PruneResult = { entries: 0, notifications: 0, idempotencyKeys: 0 };
    for (let more = true; more; ) {
      const [entries, notifications, next] = (await this.script(PRUNE_BY_AGE, [Math.floor(olderThan), PRUNE_BATCH])) as number[];
      total.entries += entries!;
      total.notifications += notifications!;
      more = next === 1;
    }
    for (let more = true; more; ) {
      const [entries, notifications, streams, left] = (await this.script(PRUNE_BY_COUNT, [Math.max(0, Math.floor(perStream)), PRUNE_BATCH, this.pruneStepEntries])) as number[];
      total.entries += entries!;
      total.notifications += notifications!;
      more = streams === PRUNE_BATCH || left === 1;
    }
    for (let more = true; more; ) {
      const [removed, next] = (await this.script(PRUNE_IDEMPOTENCY, [Math.floor(idempotencyOlderThan), PRUNE_BATCH])) as number[];
      total.idempotencyKeys += removed!;
      more = next === 1;
    }
    return total;
  }

  /** PING; rejects when Redis cannot be reached. */
  async check(): Promise<void> {
    await this.redis.ping();
  }

  /** Waits for the appends under way; leaves the client open (the caller owns it). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.scheduled || this.inFlight.size > 0) {
      if (this.scheduled) await new Promise<void>((resolve) => setImmediate(resolve));
      else await Promise.all(this.inFlight);
    }
  }

  private appendArgs(items: readonly AppendItem[], idempotency?: IdempotencyRecord): ScriptArg[] {
    const args: ScriptArg[] = [this.prefix, this.retentionMs];
    if (idempotency) {
      const createdAt = this.now();
      const stored: StoredIdempotency = { bodyHash: idempotency.bodyHash, response: idempotency.response, createdAt };
      args.push(idempotency.key, JSON.stringify(stored), this.idempotencyTtlMs, createdAt);
    } else {
      args.push('', '', 0, 0);
    }
    args.push(items.length);
    for (const { notification, streams } of items) {
      args.push(notification.id, JSON.stringify(notification), notification.createdAt, streams.length, ...streams);
    }
    return args;
  }

  /** Sends everything queued in one pipeline: one round trip, one script run per append. */
  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    const sent = this.send(batch).finally(() => this.inFlight.delete(sent));
    this.inFlight.add(sent);
  }

  /** `reloaded`: the script was loaded for this batch already, so NOSCRIPT is not retried again. */
  private async send(batch: PendingAppend[], reloaded = false): Promise<void> {
    let replies: [Error | null, unknown][] | null;
    try {
      const pipeline = this.redis.pipeline();
      for (const pending of batch) APPEND.queue(pipeline, [], pending.args);
      replies = await pipeline.exec();
      if (!replies || replies.length !== batch.length) throw new Error('Redis answered the append pipeline with the wrong number of replies');
    } catch (err) {
      for (const pending of batch) pending.reject(err);
      return;
    }
    const unloaded: PendingAppend[] = [];
    batch.forEach((pending, i) => {
      const [err, first] = replies[i]!;
      if (!err) pending.resolve(first as number);
      // NOSCRIPT: the script did not run (Redis restarted or flushed its cache), so running it again is safe.
      else if (isNoScript(err) && !reloaded) unloaded.push(pending);
      else pending.reject(err);
    });
    if (unloaded.length === 0) return;
    try {
      await APPEND.load(this.redis);
    } catch (err) {
      for (const pending of unloaded) pending.reject(err);
      return;
    }
    await this.send(unloaded, true);
  }

  private script(script: LuaScript, args: readonly ScriptArg[]): Promise<unknown> {
    return script.run(this.redis, [], [this.prefix, ...args]);
  }
}
