import { describe, expect, it } from 'vitest';
import { feedRanges, streamsOf } from './feed-rule.js';

describe('the feed rule', () => {
  it('stores a notification in one stream per distinct user, or in its topic or the broadcast stream', () => {
    expect(streamsOf({ user: 'ann' })).toEqual(['user:ann']);
    expect(streamsOf({ users: ['ann', 'bob', 'ann'] })).toEqual(['user:ann', 'user:bob']);
    expect(streamsOf({ topic: 'team.42' })).toEqual(['topic:team.42']);
    expect(streamsOf({ all: true })).toEqual(['broadcast']);
  });

  it("reads a user's own stream and the broadcast one from the start, and each topic from its subscription's seq", () => {
    expect(feedRanges('ann', [])).toEqual([
      { stream: 'user:ann', from: 0 },
      { stream: 'broadcast', from: 0 },
    ]);
    expect(feedRanges('a:b', [{ topic: 'news', since: 41 }, { topic: 'ops', since: 7 }])).toEqual([
      { stream: 'user:a:b', from: 0 },
      { stream: 'broadcast', from: 0 },
      { stream: 'topic:news', from: 41 },
      { stream: 'topic:ops', from: 7 },
    ]);
  });
});
