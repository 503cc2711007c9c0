import { decodeTime } from 'ulid';
import { describe, expect, it } from 'vitest';
import { notificationIds } from '../server/src/domain/notification.js';

describe('notification ids', () => {
  const newId = notificationIds();

  it('are "ntf_" and a ULID whose time part is the creation time', () => {
    const now = Date.UTC(2026, 10, 21, 10, 0, 0, 123);
    const id = newId(now);
    expect(id).toMatch(/^ntf_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(decodeTime(id.slice('ntf_'.length))).toBe(now);
  });

  it('are unique within one millisecond, across refills of the random pool', () => {
    const now = Date.now();
    // 4 KiB of randomness makes 256 ids: this crosses many refills.
    const ids = Array.from({ length: 5000 }, () => newId(now));
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id.slice(0, 14))).size).toBe(1);
  });

  it('sort by creation time across milliseconds', () => {
    const times = [Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) + 1, Date.UTC(2026, 5, 1), Date.UTC(2027, 0, 1)];
    const ids = times.map((t) => newId(t));
    expect([...ids].sort()).toEqual(ids);
    expect(ids.map((id) => decodeTime(id.slice(4)))).toEqual(times);
  });

  it('draw every character of the random part', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) for (const c of newId(0).slice(14)) seen.add(c);
    expect(seen.size).toBe(32);
  });
});
