/**
 * The feed rule of SPEC §3, in one place: where a notification is stored, and
 * what a user's feed holds. A notification is appended to one stream per
 * recipient user, to its topic's stream, or to the broadcast stream; a user's
 * feed is their own stream and the broadcast stream from the start, and each
 * topic they subscribe to from the seq at which they subscribed.
 *
 * The SQLite store reads with {@link feedRanges}; the Redis store's Lua spells
 * the same rule inside its scripts (to read the subscriptions atomically with
 * the entries), and the store contract suite (test/store-suite.ts) holds both to it.
 */
import { BROADCAST_STREAM, topicRoom, userRoom } from '../../../protocol/rooms.js';
import type { Target } from '../../../protocol/requests.js';

/** A user's subscription to a topic, from the seq the store had reached when it was made. */
export interface TopicSubscription {
  topic: string;
  since: number;
}

/** The entries of `stream` with a seq above `from` belong to the feed. */
export interface FeedRange {
  stream: string;
  from: number;
}

/**
 * The streams a notification for `to` is appended to: one per distinct user, or one.
 *
 * @example
 * streamsOf({ users: ['ann', 'bob', 'ann'] }) // ['user:ann', 'user:bob']
 */
export function streamsOf(to: Target): string[] {
  if ('user' in to) return [userRoom(to.user)];
  if ('users' in to) return [...new Set(to.users)].map(userRoom);
  if ('topic' in to) return [topicRoom(to.topic)];
  return [BROADCAST_STREAM];
}

/**
 * The parts of the streams that make up `userId`'s feed.
 *
 * @example
 * feedRanges('ann', [{ topic: 'news', since: 41 }])
 * // [{ stream: 'user:ann', from: 0 }, { stream: 'broadcast', from: 0 }, { stream: 'topic:news', from: 41 }]
 */
export function feedRanges(userId: string, subscriptions: readonly TopicSubscription[]): FeedRange[] {
  return [{ stream: userRoom(userId), from: 0 }, { stream: BROADCAST_STREAM, from: 0 }, ...subscriptions.map((s) => ({ stream: topicRoom(s.topic), from: s.since }))];
}
