/**
 * What the soak saw: every notification acknowledged with 202 (and whom it was
 * for), every receipt at every client, and the figures the report prints. The
 * checker of SPEC §8: `lost` counts (notification, client) pairs owed and never
 * shown, so "lost 0" is measured, not assumed.
 */

/** Who a notification is for: some users, a topic's subscribers, or everyone. */
export type Recipients = { users: readonly string[] } | { topic: string } | { all: true };

export interface Acknowledged {
  id: string;
  to: Recipients;
  /** When the publish request was sent (ms since the start of the run). */
  sentAt: number;
}

/** One client (socket) of a user, as the ledger tracks it. */
export interface ClientRecord {
  user: string;
  /** id → how it was first shown: live or from a page of what was missed, and when. */
  shown: Map<string, { via: 'live' | 'page'; at: number; seq: number }>;
  /** Arrivals per id: live events and `ready.missed` items (the client keeps the first). */
  arrivals: Map<string, number>;
  /**
   * `ready.missed` not in increasing seq order; and on one node, where no resume point is
   * moved back and live delivery is in seq order, a page item or a live item not above the
   * previous one of its kind.
   */
  outOfOrder: number;
  lastPageSeq: number;
  lastLiveSeq: number;
  /** The last 200 connection events (connects with the resume point, readies, pages asked, disconnects), for the report of a loss. */
  trace: string[];
}

export class Ledger {
  readonly acknowledged: Acknowledged[] = [];
  readonly clients: ClientRecord[] = [];
  /** topic → its subscribers (fixed before the first publish). */
  readonly subscribers = new Map<string, Set<string>>();
  /** Publish attempts not acknowledged (503, 429, connection refused while a node was down). */
  unacknowledged = 0;

  constructor(
    readonly users: readonly string[],
    /** One node: live deliveries to a socket arrive in seq order, so a live item out of order counts. */
    private readonly liveOrdered: boolean,
    /** Milliseconds since the start of the run, the clock of `sentAt`. */
    private readonly clock: () => number,
  ) {}

  client(user: string): ClientRecord {
    const record: ClientRecord = { user, shown: new Map(), arrivals: new Map(), outOfOrder: 0, lastPageSeq: 0, lastLiveSeq: 0, trace: [] };
    this.clients.push(record);
    return record;
  }

  /** followFeed's `show`: each entry once, with how it came. */
  shown(client: ClientRecord, n: { id: string; seq: number }, via: 'live' | 'page'): void {
    client.shown.set(n.id, { via, at: this.clock(), seq: n.seq });
    if (via === 'page') {
      if (this.liveOrdered && n.seq <= client.lastPageSeq) client.outOfOrder++;
      client.lastPageSeq = n.seq;
    } else {
      if (this.liveOrdered && n.seq <= client.lastLiveSeq) client.outOfOrder++;
      client.lastLiveSeq = Math.max(client.lastLiveSeq, n.seq);
    }
  }

  /** Notes a connection event of the client, with the time. */
  note(client: ClientRecord, event: string): void {
    client.trace.push(`${(this.clock() / 1000).toFixed(2)} s ${event}`);
    if (client.trace.length > 200) client.trace.shift();
  }

  /**
   * What the client went through around a lost entry: its connection events,
   * and the entries it was shown near the entry's seq (known from another
   * client that got it), with how and when.
   */
  explain(client: ClientRecord, id: string): string {
    const seq = this.clients.map((c) => c.shown.get(id)?.seq).find((s) => s !== undefined);
    const near =
      seq === undefined
        ? []
        : [...client.shown.values()]
            .filter((e) => Math.abs(e.seq - seq) <= 30)
            .sort((a, b) => a.seq - b.seq)
            .map((e) => `${e.seq} ${e.via} at ${(e.at / 1000).toFixed(2)} s`);
    return [`${id}: seq ${seq ?? 'unknown (no client got it)'}`, `  events: ${client.trace.join(' | ')}`, `  shown near it: ${near.join(', ')}`].join('\n');
  }

  /** A page as the server sent it (`ready.missed`): strictly increasing seqs. */
  page(client: ClientRecord, items: readonly { seq: number }[]): void {
    for (let i = 1; i < items.length; i++) if (items[i]!.seq <= items[i - 1]!.seq) client.outOfOrder++;
  }

  /** A raw arrival: a live event, or an item of `ready.missed`. */
  arrived(client: ClientRecord, n: { id: string }): void {
    client.arrivals.set(n.id, (client.arrivals.get(n.id) ?? 0) + 1);
  }

  /** Arrivals beyond the first of the same entry at the same client (which the client drops by seq). */
  duplicates(): number {
    let total = 0;
    for (const c of this.clients) for (const n of c.arrivals.values()) total += n - 1;
    return total;
  }

  recipientsOf(to: Recipients): readonly string[] | Set<string> {
    if ('users' in to) return to.users;
    if ('topic' in to) return this.subscribers.get(to.topic) ?? new Set();
    return this.users;
  }

  /** (notification, client) pairs owed and not shown. */
  lost(): { count: number; examples: string[]; explained: string[] } {
    const byUser = new Map<string, ClientRecord[]>();
    for (const c of this.clients) byUser.set(c.user, [...(byUser.get(c.user) ?? []), c]);
    let count = 0;
    const examples: string[] = [];
    const explained: string[] = [];
    for (const a of this.acknowledged) {
      for (const user of this.recipientsOf(a.to)) {
        for (const c of byUser.get(user) ?? []) {
          if (c.shown.has(a.id)) continue;
          count++;
          if (examples.length < 5) {
            const to = 'users' in a.to ? `users ${a.to.users.length}` : 'topic' in a.to ? `topic ${a.to.topic}` : 'all';
            examples.push(`${a.id} (${to}, sent at ${(a.sentAt / 1000).toFixed(1)} s) for ${user} (client ${this.clients.indexOf(c)})`);
            if (explained.length < 2) explained.push(this.explain(c, a.id));
          }
        }
      }
    }
    return { count, examples, explained };
  }

  /** Deliveries owed in all (the denominator of `lost`). */
  owed(): number {
    const clientsOf = new Map<string, number>();
    for (const c of this.clients) clientsOf.set(c.user, (clientsOf.get(c.user) ?? 0) + 1);
    let total = 0;
    for (const a of this.acknowledged) for (const user of this.recipientsOf(a.to)) total += clientsOf.get(user) ?? 0;
    return total;
  }

  /** Live latency from the publish request to the first live receipt, in ms: p50 and p99. */
  liveLatency(): { p50: number; p99: number; live: number; paged: number } {
    const sent = new Map(this.acknowledged.map((a) => [a.id, a.sentAt]));
    const latencies: number[] = [];
    let paged = 0;
    for (const c of this.clients) {
      for (const [id, s] of c.shown) {
        if (s.via === 'page') {
          paged++;
          continue;
        }
        const at = sent.get(id);
        if (at !== undefined) latencies.push(s.at - at);
      }
    }
    latencies.sort((a, b) => a - b);
    const q = (p: number) => (latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!);
    return { p50: q(0.5), p99: q(0.99), live: latencies.length, paged };
  }
}
