/**
 * EXPERIMENT: Herald's SqliteStore with `append` moved to a worker thread (its
 * own connection to the same WAL database), everything else on the main thread.
 * The event loop no longer runs the inserts nor waits for the commit's fsync;
 * appends that arrive while a commit is in flight are grouped into the next one.
 */
import { Worker } from 'node:worker_threads';
import { SqliteStore } from '../../server/src/store/sqlite-store.js';
import type {
  AppendItem,
  AppendResult,
  FeedPage,
  FeedQuery,
  IdempotencyRecord,
  NotificationStore,
  PruneResult,
} from '../../server/src/store/store.js';

export class OffThreadAppendStore implements NotificationStore {
  private readonly reads: SqliteStore;
  private readonly writer: Worker;
  private readonly calls = new Map<number, { resolve: (r: AppendResult[]) => void; reject: (err: Error) => void }>();
  private nextId = 0;

  constructor(dataDir: string) {
    // The main thread's connection creates the schema first; the writer opens the same file.
    this.reads = new SqliteStore({ dataDir });
    // The worker is TypeScript too: it registers tsx's loader before importing it.
    const entry = new URL('./sqlite-append-worker.ts', import.meta.url).href;
    this.writer = new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`, {
      eval: true,
      workerData: { dataDir },
    });
    this.writer.on('message', (message: { id: number; results?: AppendResult[]; error?: string }) => {
      const call = this.calls.get(message.id);
      this.calls.delete(message.id);
      if (message.error !== undefined) call?.reject(new Error(message.error));
      else call?.resolve(message.results!);
    });
  }

  append(items: readonly AppendItem[], idempotency?: IdempotencyRecord): Promise<AppendResult[]> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.writer.postMessage({ id, items, idempotency });
    });
  }

  getIdempotency(key: string, maxAgeMs: number): Promise<IdempotencyRecord | undefined> {
    return this.reads.getIdempotency(key, maxAgeMs);
  }
  claimIdempotency(): Promise<boolean> {
    return this.reads.claimIdempotency();
  }
  releaseIdempotency(): Promise<void> {
    return this.reads.releaseIdempotency();
  }
  feed(userId: string, query: FeedQuery): Promise<FeedPage> {
    return this.reads.feed(userId, query);
  }
  unreadCount(userId: string): Promise<number> {
    return this.reads.unreadCount(userId);
  }
  markRead(userId: string, ids: readonly string[]): Promise<void> {
    return this.reads.markRead(userId, ids);
  }
  markAllRead(userId: string): Promise<void> {
    return this.reads.markAllRead(userId);
  }
  subscriptions(userId: string): Promise<string[]> {
    return this.reads.subscriptions(userId);
  }
  subscribe(userId: string, topic: string): Promise<boolean> {
    return this.reads.subscribe(userId, topic);
  }
  unsubscribe(userId: string, topic: string): Promise<boolean> {
    return this.reads.unsubscribe(userId, topic);
  }
  prune(olderThan: number, perStream: number, idempotencyOlderThan: number): Promise<PruneResult> {
    return this.reads.prune(olderThan, perStream, idempotencyOlderThan);
  }
  check(): Promise<void> {
    return this.reads.check();
  }
  async close(): Promise<void> {
    const id = ++this.nextId;
    await new Promise<void>((resolve) => {
      this.calls.set(id, { resolve: () => resolve(), reject: () => resolve() });
      this.writer.postMessage({ id, close: true });
    });
    await this.writer.terminate();
    await this.reads.close();
  }
}
