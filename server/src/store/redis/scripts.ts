import { createHash } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';
import { BROADCAST_STREAM, topicRoom, userRoom } from '../../../../protocol/rooms.js';

/**
 * The key layout of {@link RedisStore} under its prefix `P` (default `herald:`):
 *
 * | key | type | holds |
 * | --- | --- | --- |
 * | `P seq` | string | the deployment-wide seq counter (INCRBY) |
 * | `P floor` | string | every entry with seq ≤ this was pruned by age |
 * | `P n:<id>` | hash | one notification: `r` record JSON, `t` createdAt, `s` its streams (JSON), `live` entries left; TTL = retention |
 * | `P s:<stream>` | zset | a stream: member notification id, score seq; TTL = retention, renewed per append |
 * | `P timeline` | zset | every notification by its last seq: the order age pruning walks; TTL = retention, renewed per append |
 * | `P touched` | set | streams appended to since a prune last capped them; TTL as timeline |
 * | `P idem:<key>` | string | an idempotency record (JSON); TTL 24 h |
 * | `P idem-index` | zset | idempotency keys by creation time, so that prune can count what it removes; TTL 24 h, renewed per record |
 * | `P subs:<user>` | hash | topic → the seq at subscription (the topic counts from there) |
 * | `P seqclock` | zset | member a 10 s time bucket, score the highest seq handed out by then (heartbeats); pruned with the floor |
 * | `P gaps` | zset | `from:to` ranges of seqs whose live delivery a Redis outage may have swallowed, scored by `to` |
 * | `P wm:<user>` | hash | the read-all watermark: `seq`, `at` (no TTL, like subscriptions) |
 * | `P readat:<user>` | zset | notification id → when the user marked it read; TTL = retention |
 * | `P read:<tag>\|<user>` | zset | read marks above the watermark in one feed stream, scored by entry seq so that they can be counted (TTL = retention); tag `u` (own stream), `b` (broadcast), `t:<topic>` |
 *
 * Scripts build keys from the prefix in `ARGV[1]`, because a feed's keys depend
 * on subscriptions stored in Redis itself. That needs a single Redis (not Redis
 * Cluster) and a client without ioredis' `keyPrefix`.
 */
export const redisKeys = (prefix: string) => ({
  seq: `${prefix}seq`,
  notification: (id: string) => `${prefix}n:${id}`,
  stream: (stream: string) => `${prefix}s:${stream}`,
  idempotency: (key: string) => `${prefix}idem:${key}`,
  subscriptions: (userId: string) => `${prefix}subs:${userId}`,
});

export type ScriptArg = string | number;

/**
 * A Lua script run by EVALSHA, falling back to EVAL (which caches it again)
 * when Redis answers NOSCRIPT, e.g. after a restart emptied its script cache.
 * Unlike ioredis' `defineCommand`, it adds nothing to the caller's client.
 *
 * @example
 * const ping = new LuaScript("return redis.call('PING')");
 * await ping.run(redis, [], []);
 */
export class LuaScript {
  readonly sha: string;

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Runs the script once; rejects with Redis' error. */
  async run(redis: Redis, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }

  /** Queues one run on a pipeline; on NOSCRIPT, {@link LuaScript.load} it and queue again. */
  queue(pipeline: ChainableCommander, keys: readonly string[], args: readonly ScriptArg[]): void {
    pipeline.evalsha(this.sha, keys.length, ...keys, ...args);
  }

  /** Caches the script in Redis (SCRIPT LOAD), e.g. after a restart emptied the cache. */
  async load(redis: Redis): Promise<void> {
    await redis.script('LOAD', this.lua);
  }
}

export const isNoScript = (err: unknown): boolean => err instanceof Error && err.message.startsWith('NOSCRIPT');

/** Helpers every store script starts with. */
const PRELUDE = `
local P = ARGV[1]
-- tostring() keeps 14 digits only; seqs and times need all of theirs.
local function num(n) return string.format('%.0f', n) end
local function streamKey(stream) return P .. 's:' .. stream end
local function noteKey(id) return P .. 'n:' .. id end
local function prunedUpTo() return tonumber(redis.call('GET', P .. 'floor')) or 0 end
local function watermark(user)
  local wm = redis.call('HMGET', P .. 'wm:' .. user, 'seq', 'at')
  return tonumber(wm[1]) or 0, tonumber(wm[2])
end
-- The feed rule (server/src/domain/feed-rule.ts): a user's own stream and broadcast from the
-- start, each subscribed topic after its since-seq. Read here, atomically with the entries.
local function feedRanges(user)
  local ranges = {
    { stream = '${userRoom('')}' .. user, from = 0, marks = P .. 'read:u|' .. user },
    { stream = '${BROADCAST_STREAM}', from = 0, marks = P .. 'read:b|' .. user },
  }
  local subs = redis.call('HGETALL', P .. 'subs:' .. user)
  for i = 1, #subs, 2 do
    ranges[#ranges + 1] = { stream = '${topicRoom('')}' .. subs[i], from = tonumber(subs[i + 1]), marks = P .. 'read:t:' .. subs[i] .. '|' .. user }
  end
  for _, r in ipairs(ranges) do r.key = streamKey(r.stream) end
  return ranges
end
`;

/**
 * ARGV: prefix, ttlMs, idemKey ('' for none), idemJson, idemTtlMs, idemCreatedAt, itemCount,
 * then per item: id, recordJson, createdAt, streamCount, streams…
 * Takes one block of seqs for the whole call, so an item's entries are consecutive; returns the first.
 */
export const APPEND = new LuaScript(`${PRELUDE}
local ttl, count = ARGV[2], tonumber(ARGV[7])
local total, pos = 0, 8
for _ = 1, count do
  local k = tonumber(ARGV[pos + 3])
  total = total + k
  pos = pos + 4 + k
end
local seq = redis.call('INCRBY', P .. 'seq', total) - total
local first = seq + 1
pos = 8
for _ = 1, count do
  local id, k = ARGV[pos], tonumber(ARGV[pos + 3])
  local streams = {}
  for j = 1, k do
    local stream = ARGV[pos + 3 + j]
    seq = seq + 1
    streams[j] = stream
    redis.call('ZADD', streamKey(stream), seq, id)
    -- A stream nobody appends to for a whole retention period holds only expired entries.
    redis.call('PEXPIRE', streamKey(stream), ttl)
    redis.call('SADD', P .. 'touched', stream)
  end
  local nk = noteKey(id)
  redis.call('HSET', nk, 'r', ARGV[pos + 1], 't', ARGV[pos + 2], 's', k > 0 and cjson.encode(streams) or '[]', 'live', k)
  redis.call('PEXPIRE', nk, ttl)
  redis.call('ZADD', P .. 'timeline', seq, id)
  pos = pos + 4 + k
end
-- Indexes of what expires go when everything in them has: no append for a whole retention period.
redis.call('PEXPIRE', P .. 'timeline', ttl)
redis.call('PEXPIRE', P .. 'touched', ttl)
if ARGV[3] ~= '' then
  redis.call('SET', P .. 'idem:' .. ARGV[3], ARGV[4], 'PX', ARGV[5])
  redis.call('ZADD', P .. 'idem-index', ARGV[6], ARGV[3])
  redis.call('PEXPIRE', P .. 'idem-index', ARGV[5])
end
return first
`);

/**
 * ARGV: prefix, user, ascending '1'|'0', bound (after or before; '' for none), limit, unreadOnly '1'|'0'.
 * Returns { hasMore, then per item: seq, stream, recordJson, readAt or nil }.
 * Takes up to limit+1 live entries from each stream, then merges them by seq.
 */
export const FEED = new LuaScript(`${PRELUDE}
local user, asc, bound = ARGV[2], ARGV[3] == '1', tonumber(ARGV[4])
local limit, unreadOnly = tonumber(ARGV[5]), ARGV[6] == '1'
local wm, wmAt = watermark(user)
local pruned = prunedUpTo()
local readAt = P .. 'readat:' .. user
local need = limit + 1
local found = {}
for _, r in ipairs(feedRanges(user)) do
  local lo = math.max(r.from, pruned, unreadOnly and wm or 0, asc and bound or 0)
  local hi = (not asc) and bound or nil
  local got = 0
  while got < need do
    local batch
    if asc then
      batch = redis.call('ZRANGEBYSCORE', r.key, '(' .. num(lo), '+inf', 'WITHSCORES', 'LIMIT', 0, need)
    else
      batch = redis.call('ZREVRANGEBYSCORE', r.key, hi and '(' .. num(hi) or '+inf', '(' .. num(lo), 'WITHSCORES', 'LIMIT', 0, need)
    end
    local n = #batch / 2
    if n == 0 then break end
    local ids = {}
    for i = 1, n do ids[i] = batch[2 * i - 1] end
    local read = unreadOnly and redis.call('ZMSCORE', readAt, unpack(ids)) or {}
    for i = 1, n do
      local id, seq = ids[i], tonumber(batch[2 * i])
      if asc then lo = seq else hi = seq end
      local record = redis.call('HGET', noteKey(id), 'r')
      if not record then
        -- Its notification expired (TTL) before prune reached it: the entry goes too.
        redis.call('ZREM', r.key, id)
      elseif not read[i] and got < need then
        found[#found + 1] = { seq, r.stream, record, id }
        got = got + 1
      end
    end
    if n < need then break end
  end
end
table.sort(found, function(a, b) if asc then return a[1] < b[1] end return a[1] > b[1] end)
local out = { #found > limit and 1 or 0 }
local count = math.min(limit, #found)
local ids = {}
for i = 1, count do ids[i] = found[i][4] end
local marked = count > 0 and redis.call('ZMSCORE', readAt, unpack(ids)) or {}
for i = 1, count do
  local e = found[i]
  out[#out + 1] = e[1]
  out[#out + 1] = e[2]
  out[#out + 1] = e[3]
  out[#out + 1] = tonumber(marked[i]) or (e[1] <= wm and wmAt) or false
end
return out
`);

/**
 * ARGV: prefix, now (ms), bucketMs. Notes the seq handed out so far in the seq
 * clock (`P seqclock`: member = a time bucket, score = the highest seq seen in
 * it, kept by ZADD GT) and returns it. Every node's heartbeat calls it, so the
 * clock has a point for every bucket in which any node was alive.
 */
export const SEQ_CLOCK = new LuaScript(`${PRELUDE}
local seq = tonumber(redis.call('GET', P .. 'seq') or '0')
redis.call('ZADD', P .. 'seqclock', 'GT', seq, tostring(math.floor(tonumber(ARGV[2]) / tonumber(ARGV[3]))))
return seq
`);

/**
 * ARGV: prefix, from, to. Records that live delivery may have lost entries with
 * from < seq <= to (a Redis outage swallowed the packets between nodes).
 */
export const RECORD_GAP = new LuaScript(`${PRELUDE}
redis.call('ZADD', P .. 'gaps', ARGV[3], ARGV[2] .. ':' .. ARGV[3])
`);

/**
 * ARGV: prefix, back (buckets), the current bucket, then afterSeq per request. Where a reconnecting
 * client should resume from, given the last seq it saw live: live delivery
 * between nodes is not in seq order (an entry published on one node can arrive
 * after a later one published on this node), so a client that dropped right
 * then may hold a lastSeq past an entry it never got. Each afterSeq is moved
 * back to the highest seq of the clock bucket `back` buckets before the one it
 * falls in (the current bucket when no heartbeat has noted it yet), and to the
 * start of any recorded gap it falls in. The client drops
 * what it had already by seq. Returns the resume points in order.
 */
export const RESUME_POINTS = new LuaScript(`${PRELUDE}
local back = tonumber(ARGV[2])
local current = tonumber(ARGV[3])
local clocked = redis.call('EXISTS', P .. 'seqclock') == 1
local out = {}
for i = 4, #ARGV do
  local x = tonumber(ARGV[i])
  local resume = x
  if clocked then
    local at = redis.call('ZRANGEBYSCORE', P .. 'seqclock', num(x), '+inf', 'LIMIT', 0, 1)[1]
    -- A seq newer than every note of the clock was handed out in the current bucket.
    local bucket = at and tonumber(at) or current
    -- No bucket that far back: the clock (or the deployment) is younger, or pruned; what is
    -- older than it is gone from the feeds too, so all of it is read again.
    resume = 0
    local older = redis.call('ZREVRANGEBYSCORE', P .. 'seqclock', '(' .. num(x), '-inf', 'WITHSCORES', 'LIMIT', 0, back + 8)
    for j = 1, #older, 2 do
      if tonumber(older[j]) <= bucket - back then
        resume = math.min(x, tonumber(older[j + 1]))
        break
      end
    end
  end
  local gaps = redis.call('ZRANGEBYSCORE', P .. 'gaps', num(x), '+inf')
  for _, gap in ipairs(gaps) do
    local from = tonumber(string.match(gap, '^(%d+):'))
    if from and from < x then resume = math.min(resume, from) end
  end
  out[#out + 1] = resume
end
return out
`);

/**
 * ARGV: prefix, user. Per stream: entries above the watermark (and the range
 * start) minus read marks above the same point; never loads a stream.
 */
export const UNREAD_COUNT = new LuaScript(`${PRELUDE}
local user = ARGV[2]
local wm = watermark(user)
local pruned = prunedUpTo()
local total = 0
for _, r in ipairs(feedRanges(user)) do
  local lo = math.max(r.from, wm, pruned)
  -- Pruning removes the oldest entries of a stream, so marks below its oldest entry are stale.
  local oldest = redis.call('ZRANGE', r.key, 0, 0, 'WITHSCORES')
  if oldest[2] then lo = math.max(lo, tonumber(oldest[2]) - 1) end
  local min = '(' .. num(lo)
  local unread = redis.call('ZCOUNT', r.key, min, '+inf') - redis.call('ZCOUNT', r.marks, min, '+inf')
  -- Only an entry dropped out of order (its notification expired) can leave a mark with nothing to subtract from.
  total = total + math.max(0, unread)
end
return total
`);

/** ARGV: prefix, user, now, ttlMs, ids… Marks only notifications in the user's feed (others can never enter it). */
export const MARK_READ = new LuaScript(`${PRELUDE}
local user, now, ttl = ARGV[2], ARGV[3], ARGV[4]
local wm = watermark(user)
local ranges = feedRanges(user)
local readAt = P .. 'readat:' .. user
for i = 5, #ARGV do
  local id = ARGV[i]
  if redis.call('EXISTS', noteKey(id)) == 1 then
    for _, r in ipairs(ranges) do
      local seq = tonumber(redis.call('ZSCORE', r.key, id))
      if seq and seq > r.from then
        redis.call('ZADD', readAt, 'NX', now, id)
        if seq > wm then
          redis.call('ZADD', r.marks, seq, id)
          redis.call('PEXPIRE', r.marks, ttl)
        end
      end
    end
  end
end
-- A mark older than the retention belongs to an entry that retention removed.
redis.call('ZREMRANGEBYSCORE', readAt, '-inf', '(' .. num(tonumber(now) - tonumber(ttl)))
redis.call('PEXPIRE', readAt, ttl)
`);

/**
 * ARGV: prefix, user, now. Moves the watermark to the last seq handed out; the marks above the
 * old one are no longer needed for counting. The watermark has no TTL: were the retention raised,
 * an expired watermark would turn old entries unread again.
 */
export const MARK_ALL_READ = new LuaScript(`${PRELUDE}
local user, now = ARGV[2], ARGV[3]
redis.call('HSET', P .. 'wm:' .. user, 'seq', redis.call('GET', P .. 'seq') or '0', 'at', now)
for _, r in ipairs(feedRanges(user)) do redis.call('DEL', r.marks) end
`);

/** ARGV: prefix, user, topic. The topic counts from the last seq handed out; returns 1 when newly subscribed. */
export const SUBSCRIBE = new LuaScript(`${PRELUDE}
return redis.call('HSETNX', P .. 'subs:' .. ARGV[2], ARGV[3], redis.call('GET', P .. 'seq') or '0')
`);

/** ARGV: prefix, user, topic. Returns 1 when the user was subscribed. */
export const UNSUBSCRIBE = new LuaScript(`${PRELUDE}
redis.call('DEL', P .. 'read:t:' .. ARGV[3] .. '|' .. ARGV[2])
return redis.call('HDEL', P .. 'subs:' .. ARGV[2], ARGV[3])
`);

/**
 * ARGV: prefix, olderThan, batch. Walks the timeline in seq order and removes each
 * notification created before the cut-off with its entries, stopping at the first
 * younger one (seq order is creation order, as in SqliteStore). Returns { entries, notifications, more }.
 */
export const PRUNE_BY_AGE = new LuaScript(`${PRELUDE}
local olderThan, batch = tonumber(ARGV[2]), tonumber(ARGV[3])
local timeline = P .. 'timeline'
local head = redis.call('ZRANGE', timeline, 0, batch - 1, 'WITHSCORES')
local entries, notes, upTo, stopped = 0, 0, nil, false
for i = 1, #head, 2 do
  local id = head[i]
  local nk = noteKey(id)
  local note = redis.call('HMGET', nk, 't', 's')
  local createdAt = tonumber(note[1])
  if createdAt and createdAt >= olderThan then stopped = true break end
  -- A notification gone already expired by TTL: its entries fall below the floor set here.
  if createdAt then
    for _, stream in ipairs(cjson.decode(note[2])) do entries = entries + redis.call('ZREM', streamKey(stream), id) end
    notes = notes + redis.call('DEL', nk)
  end
  redis.call('ZREM', timeline, id)
  upTo = tonumber(head[i + 1])
end
if upTo and upTo > prunedUpTo() then redis.call('SET', P .. 'floor', num(upTo)) end
-- The seq clock and the gaps below the floor concern entries that are gone.
redis.call('ZREMRANGEBYSCORE', P .. 'seqclock', '-inf', '(' .. num(prunedUpTo()))
redis.call('ZREMRANGEBYSCORE', P .. 'gaps', '-inf', num(prunedUpTo()))
return { entries, notes, (not stopped and #head == 2 * batch) and 1 or 0 }
`);

/**
 * ARGV: prefix, perStream, batch, maxEntries. Takes up to `batch` touched streams and keeps the
 * newest `perStream` entries of each, removing at most `maxEntries` entries in all: a script holds
 * every other client of Redis up while it runs, so a stream flooded far over its cap is capped over
 * several runs (it goes back into the touched set, as do the streams this run had no budget left for).
 * A notification goes when its last entry does.
 * Returns { entries, notifications, streams taken, 1 when some are left for another run }.
 */
export const PRUNE_BY_COUNT = new LuaScript(`${PRELUDE}
local cap, batch, budget = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local streams = redis.call('SPOP', P .. 'touched', batch)
local pruned = prunedUpTo()
local entries, notes, left = 0, 0, 0
for _, stream in ipairs(streams) do
  local sk = streamKey(stream)
  if budget <= 0 then
    redis.call('SADD', P .. 'touched', stream)
    left = 1
  else
    -- Entries below the floor belong to notifications that expired before age pruning reached them.
    entries = entries + redis.call('ZREMRANGEBYSCORE', sk, '-inf', num(pruned))
    local excess = redis.call('ZCARD', sk) - cap
    if excess > 0 then
      local take = math.min(excess, budget)
      if take < excess then
        redis.call('SADD', P .. 'touched', stream)
        left = 1
      end
      budget = budget - take
      local victims = redis.call('ZRANGE', sk, 0, take - 1)
      entries = entries + redis.call('ZREMRANGEBYRANK', sk, 0, take - 1)
      for _, id in ipairs(victims) do
        local nk = noteKey(id)
        if redis.call('EXISTS', nk) == 1 and redis.call('HINCRBY', nk, 'live', -1) <= 0 then
          redis.call('DEL', nk)
          redis.call('ZREM', P .. 'timeline', id)
          notes = notes + 1
        end
      end
    end
  end
end
return { entries, notes, #streams, left }
`);

/** ARGV: prefix, olderThan, batch. Deletes idempotency records created before the cut-off; returns { removed, more }. */
export const PRUNE_IDEMPOTENCY = new LuaScript(`${PRELUDE}
local index = P .. 'idem-index'
local keys = redis.call('ZRANGEBYSCORE', index, '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local removed = 0
for _, key in ipairs(keys) do
  removed = removed + redis.call('DEL', P .. 'idem:' .. key)
  redis.call('ZREM', index, key)
end
return { removed, #keys == tonumber(ARGV[3]) and 1 or 0 }
`);
