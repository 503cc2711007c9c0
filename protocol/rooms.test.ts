import { describe, expect, it } from 'vitest';
import { BROADCAST_STREAM, isValidTopic, parseRoom, roomKind, topicRoom, userOfRoom, userRoom } from './rooms.js';

describe('room names', () => {
  it('spells a user room and a topic room as SPEC §1 does', () => {
    expect(userRoom('alice')).toBe('user:alice');
    expect(topicRoom('team.42.alerts')).toBe('topic:team.42.alerts');
    expect(BROADCAST_STREAM).toBe('broadcast');
  });

  it('reads back the user or topic of a room, colons in the id included', () => {
    for (const userId of ['alice', 'a:b', 'user:x', '', 'ünï côdé']) {
      expect(parseRoom(userRoom(userId))).toEqual({ kind: 'user', userId });
      expect(userOfRoom(userRoom(userId))).toBe(userId);
      expect(roomKind(userRoom(userId))).toBe('user');
    }
    expect(parseRoom(topicRoom('a:b.c'))).toEqual({ kind: 'topic', topic: 'a:b.c' });
    expect(roomKind(topicRoom('news'))).toBe('topic');
    expect(userOfRoom(topicRoom('news'))).toBeUndefined();
  });

  it('finds no Herald room in a socket id, the broadcast stream or a name that only looks like one', () => {
    for (const name of ['sPqY2rYxQ5yQ7Xr1AAAB', BROADCAST_STREAM, 'User:alice', 'users:alice', 'topics:x', ' user:alice']) {
      expect(parseRoom(name), name).toBeUndefined();
      expect(roomKind(name), name).toBeUndefined();
    }
  });

  it('accepts the topic grammar and refuses what is outside it', () => {
    for (const topic of ['news', 'team.42.alerts', 'a', 'A-b_c:d.e', 'x'.repeat(128)]) expect(isValidTopic(topic), topic).toBe(true);
    for (const topic of ['', '.news', '-x', 'a b', 'a/b', 'x'.repeat(129), 'tëam', 'a*']) expect(isValidTopic(topic), topic).toBe(false);
  });
});
