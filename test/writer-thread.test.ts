import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../server/src/store/sqlite/sqlite-store.js';
import { appendOp } from '../server/src/store/sqlite/writes.js';
import { startWriterWorker, WriterThread, WriterThreadUnavailable } from '../server/src/store/sqlite/writer-thread.js';

const item = (id: string) => ({ notification: { id, type: 'message', title: id, createdAt: Date.now() }, streams: ['user:a'] });

describe('WriterThread', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** A migrated SQLite file the thread can write to. */
  async function databaseFile(): Promise<string> {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'herald-thread-'));
    dirs.push(dataDir);
    await new SqliteStore({ dataDir }).close();
    return path.join(dataDir, 'herald.db');
  }

  it('fails the group with WriterThreadUnavailable when the thread cannot start, and is not used again', async () => {
    let starts = 0;
    const thread = new WriterThread(await databaseFile(), () => {
      starts++;
      return new Worker('throw new Error("cannot load better-sqlite3")', { eval: true });
    });
    const failed = thread.run([appendOp([item('ntf_a')], undefined, Date.now())]);
    await expect(failed).rejects.toBeInstanceOf(WriterThreadUnavailable);
    await expect(failed).rejects.toThrow(/could not start: cannot load better-sqlite3/);
    expect(thread.usable).toBe(false);
    expect(starts).toBe(1);
    await thread.close();
  });

  it('lets SqliteStore write on the event loop, group included, when its thread cannot start', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'herald-thread-'));
    dirs.push(dataDir);
    const warnings: string[] = [];
    const store = new SqliteStore({
      dataDir,
      writerThreadMinRows: 0,
      log: { warn: (_obj: unknown, msg?: string) => void warnings.push(msg ?? '') },
      startWriter: () => new Worker('throw new Error("no thread here")', { eval: true }),
    });
    try {
      const [first] = await store.append([item('ntf_first')]);
      const [second] = await store.append([item('ntf_second')]);
      expect([first!.entries[0]!.seq, second!.entries[0]!.seq]).toEqual([1, 2]);
      expect(await store.unreadCount('a')).toBe(2);
      expect(warnings).toEqual(['SQLite writer thread unavailable; writing on the event loop']);
    } finally {
      await store.close();
    }
  });

  it('rejects the group under way when the thread dies, and starts a new thread for the next group', async () => {
    const starts: string[] = [];
    const thread = new WriterThread(await databaseFile(), (data) => {
      if (starts.push('start') > 1) return startWriterWorker(data);
      // Ready, then gone at the first group.
      return new Worker(
        `const { parentPort } = require('node:worker_threads');
         parentPort.postMessage({ ready: true });
         parentPort.on('message', () => process.exit(3));`,
        { eval: true },
      );
    });
    await expect(thread.run([appendOp([item('ntf_lost')], undefined, Date.now())])).rejects.toThrow(/exited with code 3/);
    expect(thread.usable).toBe(true);
    const [outcome] = await thread.run([appendOp([item('ntf_kept')], undefined, Date.now())]);
    expect(outcome).toEqual({ ok: [1] });
    expect(starts).toHaveLength(2);
    await thread.close();
    await expect(thread.run([])).rejects.toThrow(/closed/);
  });
});
