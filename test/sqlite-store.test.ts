import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../server/src/store/sqlite-store.js';
import { describeStore } from './store-suite.js';

const tempDir = () => mkdtempSync(path.join(tmpdir(), 'herald-store-'));

describeStore('SqliteStore', async (clock) => {
  const dataDir = tempDir();
  const store = new SqliteStore({ dataDir, now: clock.now });
  return {
    store,
    async cleanup() {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});

describe('SqliteStore on disk', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps feeds, read marks, subscriptions and the seq counter when reopened on the same folder', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const first = new SqliteStore({ dataDir });
    const now = Date.now();
    const appended = await Promise.all(
      Array.from({ length: 20 }, (_, i) => first.append([{ notification: { id: `ntf_disk_${i}`, type: 'message', title: `t${i}`, createdAt: now }, streams: ['user:a'] }])),
    );
    await first.subscribe('a', 'news');
    await first.markRead('a', ['ntf_disk_0', 'ntf_disk_1']);
    // Close right after the appends resolved: what resolved is committed.
    await first.close();

    const second = new SqliteStore({ dataDir });
    try {
      const feed = await second.feed('a', { limit: 100 });
      expect(feed.items).toHaveLength(20);
      expect(await second.unreadCount('a')).toBe(18);
      expect(await second.subscriptions('a')).toEqual(['news']);
      const highest = Math.max(...appended.map(([r]) => r!.entries[0]!.seq));
      const [next] = await second.append([{ notification: { id: 'ntf_disk_next', type: 'message', title: 'next', createdAt: now }, streams: ['user:a'] }]);
      expect(next!.entries[0]!.seq).toBeGreaterThan(highest);
    } finally {
      await second.close();
    }
  });

  it('flushes appends still waiting for their group commit when closed', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const first = new SqliteStore({ dataDir });
    const pending = Array.from({ length: 10 }, (_, i) =>
      first.append([{ notification: { id: `ntf_pending_${i}`, type: 'message', title: `p${i}`, createdAt: Date.now() }, streams: ['user:a'] }]),
    );
    await first.close();
    await expect(Promise.all(pending)).resolves.toHaveLength(10);
    const second = new SqliteStore({ dataDir });
    try {
      expect((await second.feed('a', { limit: 100 })).items).toHaveLength(10);
    } finally {
      await second.close();
    }
  });
});
