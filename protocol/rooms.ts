/**
 * The names of SPEC §1, the one place that spells them: every socket of a user
 * is in the room `user:<id>` and every subscriber's socket in `topic:<name>`; a
 * feed entry's `stream` is one of those or `broadcast`. Imported by the server,
 * the admin UI and clients; it imports nothing.
 */

const USER_PREFIX = 'user:';
const TOPIC_PREFIX = 'topic:';

/** The topic name grammar: a letter or digit, then up to 127 of letters, digits and `._:-`. */
export const TOPIC_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** The stream of notifications sent to everyone (it is no room: every socket gets them). */
export const BROADCAST_STREAM = 'broadcast';

export const isValidTopic = (topic: string): boolean => TOPIC_PATTERN.test(topic);

/** @example userRoom('alice') // 'user:alice' */
export const userRoom = (userId: string): string => USER_PREFIX + userId;

/** @example topicRoom('team.42.alerts') // 'topic:team.42.alerts' */
export const topicRoom = (topic: string): string => TOPIC_PREFIX + topic;

export const ROOM_KINDS = ['user', 'topic'] as const;
export type RoomKind = (typeof ROOM_KINDS)[number];

/**
 * Which kind of Herald room `name` is, without building anything (it runs on
 * every join and leave); undefined for any other room, such as the one
 * Socket.IO keeps for each socket id.
 */
export function roomKind(name: string): RoomKind | undefined {
  if (name.startsWith(USER_PREFIX)) return 'user';
  if (name.startsWith(TOPIC_PREFIX)) return 'topic';
  return undefined;
}

export type ParsedRoom = { kind: 'user'; userId: string } | { kind: 'topic'; topic: string };

/**
 * The user or topic a room (or stream) is of; undefined when it is neither.
 *
 * @example
 * parseRoom('user:a:b') // { kind: 'user', userId: 'a:b' }
 */
export function parseRoom(name: string): ParsedRoom | undefined {
  switch (roomKind(name)) {
    case 'user':
      return { kind: 'user', userId: name.slice(USER_PREFIX.length) };
    case 'topic':
      return { kind: 'topic', topic: name.slice(TOPIC_PREFIX.length) };
    default:
      return undefined;
  }
}

/** The user of a `user:` room, else undefined. */
export function userOfRoom(name: string): string | undefined {
  return name.startsWith(USER_PREFIX) ? name.slice(USER_PREFIX.length) : undefined;
}
