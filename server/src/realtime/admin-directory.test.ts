import { describe, expect, it } from 'vitest';
import type { RoomInfo } from '../../../protocol/admin.js';
import { compareKeys, pageOfConnections, pageOfRooms } from './admin-directory.js';
import type { CursorKey, ListedConnection } from './events.js';

const connection = (key: CursorKey, node: string): ListedConnection => ({
  key,
  socketId: `s${key[2]}`,
  userId: key[1],
  rooms: [],
  transport: 'websocket',
  address: '127.0.0.1',
  userAgent: 'test',
  connectedAt: new Date(key[0]).toISOString(),
  node,
});

describe("merging the nodes' pages of connections", () => {
  it('orders keys by connection time, then user, then sequence', () => {
    expect(compareKeys([1, 'b', 0], [2, 'a', 0])).toBeLessThan(0);
    expect(compareKeys([1, 'a', 5], [1, 'b', 0])).toBeLessThan(0);
    expect(compareKeys([1, 'a', 1], [1, 'a', 2])).toBeLessThan(0);
    expect(compareKeys([1, 'a', 1], [1, 'a', 1])).toBe(0);
  });

  it('merges sorted lists into one page in key order, with a cursor only when more follow', () => {
    const a = [connection([1, 'ann', 1], 'a'), connection([4, 'dan', 4], 'a')];
    const b = [connection([2, 'bob', 2], 'b'), connection([3, 'cat', 3], 'b'), connection([5, 'eve', 5], 'b')];
    const first = pageOfConnections([a, b], 3);
    expect(first.items.map((c) => c.userId)).toEqual(['ann', 'bob', 'cat']);
    expect(first.items[0]).not.toHaveProperty('key');
    expect(first.nextCursor).toEqual(expect.any(String));
    expect(JSON.parse(Buffer.from(first.nextCursor!, 'base64url').toString())).toEqual([3, 'cat', 3]);
    expect(pageOfConnections([a, b], 5).nextCursor).toBeNull();
  });

  it('says when a node did not answer', () => {
    expect(pageOfConnections([[]], 10, true)).toEqual({ items: [], nextCursor: null, partial: true });
    expect(pageOfConnections([[]], 10)).toEqual({ items: [], nextCursor: null });
  });
});

describe('a page of rooms', () => {
  const rooms = (): RoomInfo[] => [
    { name: 'user:b', kind: 'user', size: 1 },
    { name: 'topic:x', kind: 'topic', size: 3 },
    { name: 'user:a', kind: 'user', size: 1 },
  ];

  it('lists the largest first, then by name, from the offset in the cursor', () => {
    const first = pageOfRooms(rooms(), { limit: 2 });
    expect(first).toEqual({ items: [rooms()[1], rooms()[2]], nextCursor: '2' });
    expect(pageOfRooms(rooms(), { limit: 2, cursor: '2' })).toEqual({ items: [rooms()[0]], nextCursor: null });
  });
});
