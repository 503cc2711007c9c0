interface Pending<T, R> {
  work: T;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

/**
 * Groups writes into one call of `flush`, so that N concurrent requests cost one
 * transaction (one fsync). One group is written at a time: the writes submitted
 * within one turn of the event loop form a group, and those submitted while an
 * asynchronous `flush` is under way form the next one, written as soon as it
 * completes.
 *
 * @example
 * const writer = new GroupCommit((batch) => db.transaction(() => batch.map(write))());
 * const result = await writer.submit(work);
 */
export class GroupCommit<T, R> {
  private queue: Pending<T, R>[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly flush: (batch: T[]) => R[] | Promise<R[]>) {}

  submit(work: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ work, resolve, reject });
      this.running ??= this.run();
    });
  }

  /** Resolves once everything submitted so far is flushed. */
  async drain(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      // A turn of the event loop before each group: it gathers the turn's writes, and the callers of
      // the previous group act on their results (deliver) before the next group is written.
      await new Promise<void>((turn) => setImmediate(turn));
      const batch = this.queue;
      this.queue = [];
      try {
        const results = await this.flush(batch.map((p) => p.work));
        batch.forEach((p, i) => p.resolve(results[i]!));
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.running = undefined;
  }
}
