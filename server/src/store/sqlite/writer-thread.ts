import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { toError, type WriteError, type WriteOp, type WriteOutcome } from './writes.js';

/** What the thread is started with. */
export interface WriterThreadData {
  /** The SQLite file, already created and migrated. */
  file: string;
}
/** `ops` as JSON: one string crosses to the thread faster than the arrays it holds (structured clone copies each value). */
export type WriterRequest = { n: number; ops: string; close?: undefined } | { close: true };
/** `ready` once the thread has opened the file; then one reply per request, in order. */
export type WriterReply = { ready: true } | { n: number; outcomes: WriteOutcome[] } | { n: number; error: WriteError };

interface Pending {
  resolve: (outcomes: WriteOutcome[]) => void;
  reject: (err: Error) => void;
}

/**
 * The thread failed before it opened the file: it wrote nothing, so the group
 * can be written elsewhere, and it will not be started again.
 */
export class WriterThreadUnavailable extends Error {
  constructor(cause: unknown) {
    super(`the SQLite writer thread could not start: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * The thread's entry file, next to this one. From TypeScript sources (tsx,
 * vitest) the thread registers tsx's loader before it imports its entry: on
 * Node 20 a worker does not inherit the loader hooks of the thread that starts it.
 */
export function startWriterWorker(workerData: WriterThreadData): Worker {
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
 * started on first use and kept. If it dies, what it was writing fails and the
 * next group starts a new one; if it cannot start at all, it fails with
 * {@link WriterThreadUnavailable} and {@link usable} turns false. (A thread
 * that dies after a commit but before its reply reports a group as failed that
 * was written: a retry without an `Idempotency-Key` would store it twice. The
 * window is one `postMessage`.)
 *
 * @example
 * const thread = new WriterThread(file);
 * const outcomes = await thread.run([appendOp(items, undefined, Date.now())]);
 */
export class WriterThread {
  private worker: Worker | undefined;
  private sent = 0;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  private broken = false;

  constructor(
    private readonly file: string,
    /** Starts the thread (tests pass one that fails). @default startWriterWorker */
    private readonly startWorker: (data: WriterThreadData) => Worker = startWriterWorker,
  ) {}

  /** False once the thread has failed to start, or once closed. */
  get usable(): boolean {
    return !this.broken && !this.closed;
  }

  /** Runs the group in one transaction on the thread. Rejects if the transaction fails, the thread dies, or it is closed. */
  run(ops: readonly WriteOp[]): Promise<WriteOutcome[]> {
    if (this.closed) return Promise.reject(new Error('the SQLite writer thread is closed'));
    const worker = (this.worker ??= this.start());
    const n = ++this.sent;
    return new Promise((resolve, reject) => {
      this.pending.set(n, { resolve, reject });
      // Only a thread with a group under way keeps the process alive.
      worker.ref();
      worker.postMessage({ n, ops: JSON.stringify(ops) } satisfies WriterRequest);
    });
  }

  /** Refuses further groups, closes the thread's connection and waits for the thread to end. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    // Held until it has exited: an unref'd thread would let the process end before this resolves.
    worker.ref();
    const exited = once(worker, 'exit');
    worker.postMessage({ close: true } satisfies WriterRequest);
    await exited;
  }

  private start(): Worker {
    const worker = this.startWorker({ file: this.file });
    let ready = false;
    worker.unref();
    worker.on('message', (reply: WriterReply) => {
      if ('ready' in reply) {
        ready = true;
        return;
      }
      const pending = this.pending.get(reply.n);
      this.pending.delete(reply.n);
      if (this.pending.size === 0) worker.unref();
      if (!pending) return;
      if ('outcomes' in reply) pending.resolve(reply.outcomes);
      else pending.reject(toError(reply.error));
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      if (!ready) this.broken = true;
      const reason = ready ? err : new WriterThreadUnavailable(err);
      for (const pending of this.pending.values()) pending.reject(reason);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the SQLite writer thread exited with code ${code}`)));
    return worker;
  }
}
