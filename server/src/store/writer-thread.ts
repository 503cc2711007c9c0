import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WriteOp, WriteOutcome } from './sqlite-writes.js';

/** What the thread is started with. */
export interface WriterThreadData {
  /** The SQLite file, already created and migrated. */
  file: string;
}
/** `ops` as JSON: one string crosses to the thread faster than the arrays it holds (structured clone copies each value). */
export type WriterRequest = { n: number; ops: string; close?: undefined } | { close: true };
export type WriterReply = { n: number; outcomes: WriteOutcome[] } | { n: number; error: { message: string; code?: string } };

interface Pending {
  resolve: (outcomes: WriteOutcome[]) => void;
  reject: (err: Error) => void;
}

/**
 * The thread's entry file, next to this one. From TypeScript sources (tsx,
 * vitest) the thread registers tsx's loader before it imports its entry: on
 * Node 20 a worker does not inherit the loader hooks of the thread that starts it.
 */
function startWorker(workerData: WriterThreadData): Worker {
  const here = fileURLToPath(import.meta.url);
  const entry = pathToFileURL(path.join(path.dirname(here), `writer-thread-main${path.extname(here)}`));
  if (!here.endsWith('.ts')) return new Worker(entry, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

/**
 * A thread with its own connection to the SQLite file, for groups of writes
 * large enough to be worth the hop: their inserts and their fsync happen off
 * the event loop, which meanwhile parses and validates the next requests. It is
 * started on first use and kept; if it dies, what it was writing fails and the
 * next group starts a new one.
 *
 * @example
 * const thread = new WriterThread(file);
 * const outcomes = await thread.run([appendOp(items, undefined, Date.now())]);
 */
export class WriterThread {
  private worker: Worker | undefined;
  private sent = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly file: string) {}

  /** Runs the group in one transaction on the thread. Rejects if the transaction fails or the thread dies. */
  run(ops: readonly WriteOp[]): Promise<WriteOutcome[]> {
    const worker = (this.worker ??= this.start());
    const n = ++this.sent;
    return new Promise((resolve, reject) => {
      this.pending.set(n, { resolve, reject });
      // Only a thread with a group under way keeps the process alive.
      worker.ref();
      worker.postMessage({ n, ops: JSON.stringify(ops) } satisfies WriterRequest);
    });
  }

  /** Closes the thread's connection and waits for the thread to end. Call once no group is under way. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    const exited = once(worker, 'exit');
    worker.postMessage({ close: true } satisfies WriterRequest);
    await exited;
  }

  private start(): Worker {
    const worker = startWorker({ file: this.file });
    worker.unref();
    worker.on('message', (reply: WriterReply) => {
      const pending = this.pending.get(reply.n);
      this.pending.delete(reply.n);
      if (this.pending.size === 0) worker.unref();
      if (!pending) return;
      if ('outcomes' in reply) pending.resolve(reply.outcomes);
      else pending.reject(Object.assign(new Error(reply.error.message), reply.error.code === undefined ? {} : { code: reply.error.code }));
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const pending of this.pending.values()) pending.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the SQLite writer thread exited with code ${code}`)));
    return worker;
  }
}
