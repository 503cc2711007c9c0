import type { RecentNotification } from '../../../protocol/admin.js';
import type { PublishedNotification, PublishObserver } from '../domain/notification-service.js';

/** How many recipients of a `users` target are kept for display. */
const NAMES_KEPT = 5;

interface Entry {
  summary: Omit<RecentNotification, 'createdAt'>;
  createdAt: number;
}

/**
 * The latest notifications published through this node, in a fixed ring: adding
 * one is a few assignments, so the publish path stays cheap, and memory is bounded
 * because only a summary is kept.
 *
 * @example
 * const recent = new RecentNotifications(100);
 * const service = new NotificationService(store, delivery, combinePublishObservers(metrics, recent));
 * recent.latest(); // newest first
 */
export class RecentNotifications implements Pick<PublishObserver, 'notified'> {
  private readonly ring: (Entry | undefined)[];
  private added = 0;

  /** @param capacity entries kept. @default 100 */
  constructor(readonly capacity = 100) {
    this.ring = new Array<Entry | undefined>(capacity);
  }

  notified(event: PublishedNotification): void {
    const { record, to } = event;
    const target =
      'user' in to
        ? { kind: 'user' as const, names: [to.user], count: 1 }
        : 'users' in to
          ? { kind: 'users' as const, names: to.users.slice(0, NAMES_KEPT), count: to.users.length }
          : 'topic' in to
            ? { kind: 'topic' as const, names: [to.topic], count: 1 }
            : { kind: 'all' as const, names: [], count: 0 };
    this.ring[this.added % this.capacity] = {
      summary: { id: record.id, type: record.type, title: record.title, target, publisher: event.publisher, deliveries: event.deliveries },
      createdAt: record.createdAt,
    };
    this.added++;
  }

  /** A position to pass to {@link since} later: the number of notifications seen so far. */
  get mark(): number {
    return this.added;
  }

  /** The latest entries, newest first. */
  latest(limit = this.capacity): RecentNotification[] {
    return this.since(Math.max(0, this.added - limit));
  }

  /** Entries added after `mark` (at most `capacity` of them), newest first. */
  since(mark: number): RecentNotification[] {
    const from = Math.max(mark, this.added - this.capacity, 0);
    const items: RecentNotification[] = [];
    for (let i = this.added - 1; i >= from; i--) {
      const entry = this.ring[i % this.capacity]!;
      items.push({ ...entry.summary, createdAt: new Date(entry.createdAt).toISOString() });
    }
    return items;
  }
}
