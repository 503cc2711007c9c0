import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

describe('the group commit', () => {
  it('writes the submissions of one turn of the event loop as one group, each caller getting its own result', async () => {
    const groups: number[][] = [];
    const writer = new GroupCommit<number, string>((batch) => {
      groups.push(batch);
      return batch.map((n) => `done ${n}`);
    });
    const results = await Promise.all([1, 2, 3].map((n) => writer.submit(n)));
    expect(results).toEqual(['done 1', 'done 2', 'done 3']);
    expect(groups).toEqual([[1, 2, 3]]);
  });

  it('gathers what is submitted while a group is being written into the next group', async () => {
    const groups: number[][] = [];
    let release!: () => void;
    const firstDone = new Promise<void>((resolve) => (release = resolve));
    const writer = new GroupCommit<number, number>(async (batch) => {
      groups.push(batch);
      if (groups.length === 1) await firstDone;
      return batch;
    });
    const first = writer.submit(1);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    const later = [writer.submit(2), writer.submit(3)];
    expect(groups).toEqual([[1]]);
    release();
    expect(await Promise.all([first, ...later])).toEqual([1, 2, 3]);
    expect(groups).toEqual([[1], [2, 3]]);
  });

  it('fails every caller of a group whose write fails, and writes the next group', async () => {
    let calls = 0;
    const writer = new GroupCommit<number, number>((batch) => {
      calls += 1;
      if (calls === 1) throw new Error('disk full');
      return batch;
    });
    const failed = await Promise.allSettled([writer.submit(1), writer.submit(2)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await writer.submit(3)).toBe(3);
  });

  it('drains: resolves once everything submitted before is written', async () => {
    const written: number[] = [];
    const writer = new GroupCommit<number, number>(async (batch) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      written.push(...batch);
      return batch;
    });
    void writer.submit(1);
    void writer.submit(2);
    await writer.drain();
    expect(written).toEqual([1, 2]);
  });
});
