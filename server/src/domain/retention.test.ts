import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { Retention } from './retention.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

describe('retention', () => {
  let dir: string;
  let store: SqliteStore;
  let time = T0;
  const logged: { level: string; what: unknown }[] = [];
  const log = { info: (what: unknown) => void logged.push({ level: 'info', what }), error: (what: unknown) => void logged.push({ level: 'error', what }) };

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'herald-retention-'));
    time = T0;
    logged.length = 0;
    store = new SqliteStore({ dataDir: dir, now: () => time });
  });
  afterEach(async () => {
    await store.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const put = async (title: string) => {
    await store.append([{ notification: { id: `ntf_${title}`, type: 'message', title, createdAt: time }, streams: ['user:ann'] }]);
  };
  const titles = async () => (await store.feed('ann', { limit: 100 })).items.map((n) => n.title);

  it('removes entries older than its days and beyond its per-stream cap, and says what it removed', async () => {
    await put('old');
    time += 3 * DAY;
    for (const title of ['a', 'b', 'c']) await put(title);
    await new Retention(store, { days: 2, perStream: 2, intervalMs: 60_000 }, log, () => time).run();
    expect(await titles()).toEqual(['c', 'b']);
    expect(logged).toEqual([{ level: 'info', what: expect.objectContaining({ entries: 2 }) }]);
  });

  it('runs at start and again every interval until stopped', async () => {
    const retention = new Retention(store, { days: 1, perStream: 100, intervalMs: 50 }, log, () => time);
    await put('first');
    time += 2 * DAY;
    retention.start();
    await expect.poll(titles).toEqual([]);
    await put('second');
    time += 2 * DAY;
    await expect.poll(titles).toEqual([]);
    retention.stop();
    await put('third');
    time += 2 * DAY;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await titles()).toEqual(['third']);
  });

  it('logs a failed run instead of throwing, so that the timer carries on', async () => {
    await store.close();
    await new Retention(store, { days: 1, perStream: 1, intervalMs: 60_000 }, log, () => time).run();
    expect(logged.map((l) => l.level)).toEqual(['error']);
  });
});
