interface Pending<T, R> {
  work: T;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

/**
 * Groups the writes submitted within one turn of the event loop into one call
 * of `flush`, so that N concurrent requests cost one transaction (one fsync).
 *
 * @example
 * const writer = new GroupCommit((batch) => db.transaction(() => batch.map(write))());
 * const result = await writer.submit(work);
 */
export class GroupCommit<T, R> {
  private queue: Pending<T, R>[] = [];
  private scheduled: Promise<void> | undefined;

  constructor(private readonly flush: (batch: T[]) => R[]) {}

  submit(work: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ work, resolve, reject });
      this.scheduled ??= new Promise<void>((done) =>
        setImmediate(() => {
          this.scheduled = undefined;
          this.run();
          done();
        }),
      );
    });
  }

  /** Resolves once everything submitted so far is flushed. */
  async drain(): Promise<void> {
    while (this.scheduled) await this.scheduled;
  }

  private run(): void {
    const batch = this.queue;
    this.queue = [];
    let results: R[];
    try {
      results = this.flush(batch.map((p) => p.work));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]!));
  }
}
