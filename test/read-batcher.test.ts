import { describe, expect, it } from 'vitest';
import { ReadBatcher } from '../server/src/domain/read-batcher.js';

describe('ReadBatcher (the shared store rounds of a reconnect storm, SPEC §8)', () => {
  it('reads the requests of one turn in shared calls of at most maxBatch, in order, and answers each its own', async () => {
    const calls: string[][] = [];
    const batcher = new ReadBatcher(async (ids: string[]) => {
      calls.push(ids);
      return ids.map((id) => `topics of ${id}`);
    }, 50);
    const ids = Array.from({ length: 120 }, (_, i) => `u${i}`);
    const results = await Promise.all(ids.map((id) => batcher.load(id)));
    expect(results).toEqual(ids.map((id) => `topics of ${id}`));
    expect(calls.map((c) => c.length)).toEqual([50, 50, 20]);
    expect(calls.flat()).toEqual(ids);
    // A later request starts a round of its own.
    expect(await batcher.load('late')).toBe('topics of late');
    expect(calls.at(-1)).toEqual(['late']);
  });

  it('rejects every request of a failed call, and only those', async () => {
    let call = 0;
    const batcher = new ReadBatcher(async (ids: string[]) => {
      if (call++ === 0) throw new Error('store down');
      return ids;
    }, 2);
    const first = [batcher.load('a'), batcher.load('b')];
    const second = batcher.load('c');
    await expect(Promise.all(first.map((p) => p.catch((e: Error) => e.message)))).resolves.toEqual(['store down', 'store down']);
    await expect(second).resolves.toBe('c');
  });

  it('tells the size of each round read', async () => {
    const sizes: number[] = [];
    const batcher = new ReadBatcher(async (ids: number[]) => ids, 50, (size) => sizes.push(size));
    await Promise.all([1, 2, 3].map((n) => batcher.load(n)));
    await batcher.load(4);
    expect(sizes).toEqual([3, 1]);
  });
});
