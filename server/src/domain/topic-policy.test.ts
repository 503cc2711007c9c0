import { describe, expect, it } from 'vitest';
import { topicAllowed } from './topic-policy.js';

describe('the topics claim', () => {
  it('allows every topic when the claim is absent, and none when it is empty', () => {
    expect(topicAllowed(undefined, 'anything')).toBe(true);
    expect(topicAllowed([], 'anything')).toBe(false);
  });

  it('matches a plain pattern only to itself', () => {
    expect(topicAllowed(['news'], 'news')).toBe(true);
    expect(topicAllowed(['news'], 'news.eu')).toBe(false);
    expect(topicAllowed(['news'], 'new')).toBe(false);
  });

  it('matches a trailing * to one or more further characters, never to the prefix alone', () => {
    expect(topicAllowed(['team.42.*'], 'team.42.alerts')).toBe(true);
    expect(topicAllowed(['team.42.*'], 'team.42.a.b')).toBe(true);
    expect(topicAllowed(['team.42.*'], 'team.42.')).toBe(false);
    expect(topicAllowed(['team.42.*'], 'team.421')).toBe(false);
    expect(topicAllowed(['team.4*'], 'team.421')).toBe(true);
  });

  it('allows a topic that any one pattern allows', () => {
    expect(topicAllowed(['a', 'b.*'], 'b.x')).toBe(true);
    expect(topicAllowed(['a', 'b.*'], 'c')).toBe(false);
  });
});
