import type { Logger } from 'pino';
import { userOfRoom } from '../../../protocol/rooms.js';
import type { FeedService } from '../domain/feed-service.js';
import type { HeraldNamespace } from '../realtime/events.js';

/** Pages of catch-up sent per user after an outage (100 entries each). */
const MAX_PAGES = 10;

/**
 * While Redis is down, packets between nodes are lost, though sockets stay
 * connected to their nodes. When Redis returns, each node sends its own sockets
 * the feed entries after the seq it last saw before the outage: whatever the
 * outage swallowed arrives, and clients drop what they already had by `seq`.
 */
export class OutageRecovery {
  /** The seq read by the last heartbeat that reached Redis. */
  private checkpoint: number | undefined;
  private outage = false;
  /** The adapter's subscriber connection is down: packets from other nodes are being lost. */
  private subscriberDown = false;
  /**
   * The subscriber came back while a heartbeat may have been under way: the seq
   * that heartbeat read can predate the subscription, so it does not close the gap.
   */
  private beatUnderWay = false;

  constructor(
    private readonly nsp: HeraldNamespace,
    private readonly feed: FeedService,
    private readonly log: Logger,
    /**
     * Records the seqs whose live delivery the outage may have swallowed, so that
     * a client that reconnects later, with a lastSeq inside them, resumes from
     * before them (a client here saw entries after the outage and left before
     * this node resent).
     */
    private readonly recordGap: (from: number, to: number) => Promise<void> = async () => {},
  ) {}

  /**
   * The adapter's subscriber lost its connection (a Redis restart shorter than a
   * heartbeat is seen only here): what other nodes publish meanwhile never
   * arrives. `up` means its subscriptions are in effect in Redis again, not
   * merely that it reconnected. Recovery runs at the first heartbeat that
   * started after that.
   */
  subscriber(up: boolean): void {
    this.subscriberDown = !up;
    if (up) this.beatUnderWay = true;
    else this.outage = true;
  }

  /** Called after every heartbeat with whether Redis answered and, if so, the seq it read. */
  async heartbeat(ok: boolean, seq: number): Promise<void> {
    if (!ok) {
      this.outage = true;
      return;
    }
    // Not before the subscriber is back: what is published until then would be lost again.
    if (this.outage && this.subscriberDown) return;
    if (this.outage && this.beatUnderWay) {
      // Heartbeats run one at a time, so the next one reads its seq after the subscriber was back.
      this.beatUnderWay = false;
      return;
    }
    const from = this.checkpoint;
    this.checkpoint = seq;
    const recovered = this.outage;
    this.outage = false;
    if (recovered && from !== undefined) {
      await this.recordGap(from, seq);
      await this.resend(from);
    }
  }

  private async resend(afterSeq: number): Promise<void> {
    let users = 0;
    let sent = 0;
    for (const room of this.nsp.adapter.rooms.keys()) {
      const userId = userOfRoom(room);
      if (userId === undefined) continue;
      users++;
      let after = afterSeq;
      for (let page = 0; page < MAX_PAGES; page++) {
        const { items, hasMore } = await this.feed.since(userId, after);
        for (const item of items) this.nsp.local.to(room).emit('notification', item);
        sent += items.length;
        if (!hasMore || items.length === 0) break;
        after = items.at(-1)!.seq;
      }
    }
    this.log.info({ afterSeq, users, sent }, 'sent local sockets what the Redis outage may have swallowed');
  }
}
