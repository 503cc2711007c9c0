interface Waiting<T, R> {
  request: T;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

/**
 * Gathers the reads requested within one turn of the event loop into one call
 * of `read` (at most `maxBatch` requests each, one call per turn, so that the
 * event loop stays responsive through a storm),
 * and answers each request with its own result. A failed call rejects every
 * request in it.
 *
 * @example
 * const topics = new ReadBatcher((userIds: string[]) => store.subscriptionsOf(userIds));
 * const mine = await topics.load('alice');
 */
export class ReadBatcher<T, R> {
  private waiting: Waiting<T, R>[] = [];
  private scheduled = false;

  constructor(
    private readonly read: (requests: T[]) => Promise<R[]>,
    private readonly maxBatch = 200,
    /** Told the size of each batch read (metrics). */
    private readonly onBatch?: (size: number) => void,
  ) {}

  load(request: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ request, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.dispatch());
    });
  }

  /** One batch per turn: a store whose reads are synchronous (SQLite) gives the event loop back between batches. */
  private dispatch(): void {
    const batch = this.waiting.length <= this.maxBatch ? this.waiting : this.waiting.slice(0, this.maxBatch);
    this.waiting = batch === this.waiting ? [] : this.waiting.slice(this.maxBatch);
    if (this.waiting.length > 0) setImmediate(() => this.dispatch());
    else this.scheduled = false;
    this.onBatch?.(batch.length);
    let reading: Promise<R[]>;
    try {
      reading = this.read(batch.map((w) => w.request));
    } catch (err) {
      reading = Promise.reject(err);
    }
    reading.then(
      (results) => batch.forEach((w, i) => w.resolve(results[i]!)),
      (err: unknown) => {
        for (const w of batch) w.reject(err);
      },
    );
  }
}
