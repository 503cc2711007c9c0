import { createHash } from 'node:crypto';
import { HeraldError, invalidPayload } from '../errors.js';
import type { NotificationStore, IdempotencyRecord } from './notification-store.js';
import type { Delivery } from './delivery.js';
import { notificationIds, targetKind, type NotificationRecord } from './notification.js';
import { IDEMPOTENCY_TTL_MS, publishRequestSchema, type BatchRequest, type PublishRequest, type Target } from '../../../protocol/requests.js';
import type { TargetKind } from '../../../protocol/notification.js';
import { userOfRoom } from '../../../protocol/rooms.js';
import { streamsOf } from './feed-rule.js';
import type { BatchResponse, BatchResult, PublishResponse } from '../../../protocol/responses.js';

/** How long a claim on a key lasts if its holder dies before writing the record. */
const CLAIM_TTL_MS = 30_000;
/** How long a concurrent request with the same key waits for the first one's record. */
const CLAIM_WAIT_MS = 5_000;

export interface PublishObserver {
  /**
   * Once per publish request and target kind in it: `count` notifications of that
   * kind were stored, making `deliveries` live deliveries on this node, `seconds`
   * after the request was accepted.
   */
  published(kind: TargetKind, count: number, deliveries: number, seconds: number): void;
  /** Each stored notification, after its live delivery (feeds the admin UI's latest list). */
  notified?(event: PublishedNotification): void;
}

/** What {@link PublishObserver.notified} receives: objects the publish path built anyway. */
export interface PublishedNotification {
  record: NotificationRecord;
  to: Target;
  /** The `sub` of the caller that published it. */
  publisher: string;
  /** Live deliveries to sockets on this node. */
  deliveries: number;
}

/** One observer that forwards to several (e.g. the metrics and the admin's latest notifications). */
export function combinePublishObservers(...observers: Partial<PublishObserver>[]): PublishObserver {
  const notified = observers.filter((o) => o.notified);
  return {
    published: (kind, count, deliveries, seconds) => {
      for (const o of observers) o.published?.(kind, count, deliveries, seconds);
    },
    notified: (event) => {
      for (const o of notified) o.notified!(event);
    },
  };
}

/** The `Idempotency-Key` header and the request body bytes it guards. */
export interface IdempotencyInput {
  key: string | undefined;
  rawBody: Buffer;
}

/**
 * Publishing: validates, stores each notification once with one entry per
 * recipient stream, then delivers it live to the stream's room. Idempotent when
 * the caller sends an `Idempotency-Key`.
 */
export class NotificationService {
  /** Requests under way per idempotency key, so that a concurrent replay waits for the first. */
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly newId = notificationIds();

  constructor(
    private readonly store: NotificationStore,
    private readonly delivery: Delivery,
    private readonly observer: PublishObserver,
    private readonly now: () => number = Date.now,
  ) {}

  /** `POST /api/notifications`, validated. */
  publish(callerId: string, request: PublishRequest, idempotency?: IdempotencyInput): Promise<PublishResponse> {
    return this.idempotent(callerId, 'single', idempotency, async (idem) => {
      const [response] = await this.append(callerId, [request], (responses) => idem?.(responses[0]!));
      return response!;
    });
  }

  /**
   * `POST /api/notifications/batch`, whose envelope is validated: each item is
   * checked here, on its own, and succeeds or fails alone; results keep the order.
   */
  publishBatch(callerId: string, request: BatchRequest, idempotency?: IdempotencyInput): Promise<BatchResponse> {
    return this.idempotent(callerId, 'batch', idempotency, async (idem) => {
      const results: BatchResult[] = [];
      const valid: { index: number; request: PublishRequest }[] = [];
      request.notifications.forEach((item, index) => {
        const one = publishRequestSchema.safeParse(item);
        if (one.success) valid.push({ index, request: one.data });
        else results[index] = { error: invalidPayload(one.error, `notifications.${index}.`).toBody() };
      });
      const build = (responses: PublishResponse[]): BatchResponse => {
        valid.forEach((v, i) => (results[v.index] = { id: responses[i]!.id }));
        return { results };
      };
      const responses = await this.append(
        callerId,
        valid.map((v) => v.request),
        (done) => idem?.(build(done)),
      );
      return build(responses);
    });
  }

  /**
   * Stores the requests in one append and delivers them. Whatever is the same for
   * every item is done once per request, not once per notification: the
   * `createdAt` string, the metrics observation (one per target kind present) and
   * the unread push (one per recipient user).
   */
  private async append(
    callerId: string,
    requests: PublishRequest[],
    idempotency: (responses: PublishResponse[]) => IdempotencyRecord | undefined,
  ): Promise<PublishResponse[]> {
    if (requests.length === 0) return [];
    const started = process.hrtime.bigint();
    const now = this.now();
    const createdAt = new Date(now).toISOString();
    const prepared = requests.map((request) => {
      const record: NotificationRecord = { id: this.newId(now), type: request.type, title: request.title, createdAt: now };
      if (request.body !== undefined) record.body = request.body;
      if (request.data !== undefined) record.data = request.data;
      return { record, to: request.to, kind: targetKind(request.to), streams: streamsOf(request.to) };
    });
    const responses = prepared.map((p) => ({ id: p.record.id, createdAt, streams: p.streams.length }));
    const results = await this.store.append(
      prepared.map((p) => ({ notification: p.record, streams: p.streams })),
      idempotency(responses),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const byKind = new Map<TargetKind, { count: number; deliveries: number }>();
    const unreadUsers = new Set<string>();
    prepared.forEach((p, i) => {
      let deliveries = 0;
      for (const entry of results[i]!.entries) {
        deliveries += this.delivery.deliver(p.record, entry, createdAt);
      }
      const tally = byKind.get(p.kind);
      if (tally) {
        tally.count++;
        tally.deliveries += deliveries;
      } else {
        byKind.set(p.kind, { count: 1, deliveries });
      }
      this.observer.notified?.({ record: p.record, to: p.to, publisher: callerId, deliveries });
      if (p.kind === 'user' || p.kind === 'users') {
        for (const stream of p.streams) unreadUsers.add(userOfRoom(stream)!);
      }
    });
    for (const [kind, tally] of byKind) this.observer.published(kind, tally.count, tally.deliveries, seconds);
    if (unreadUsers.size > 0) this.delivery.unreadChanged([...unreadUsers]);
    return responses;
  }

  /**
   * Runs `work` once per (caller, route, key) within 24 h: a replay with the same
   * body gets the stored response and delivers nothing; another body is refused
   * with `idempotency_conflict`. The key is one that `idempotencyKeySchema` accepts.
   */
  private async idempotent<T>(
    callerId: string,
    route: string,
    idempotency: IdempotencyInput | undefined,
    work: (record?: (response: T) => IdempotencyRecord) => Promise<T>,
  ): Promise<T> {
    if (idempotency?.key === undefined) return work();
    const { key, rawBody } = idempotency;
    const scoped = `${callerId}\n${route}\n${key}`;
    // The raw bytes, not a re-serialization: hashing must not depend on (or choke on) the parsed shape.
    const bodyHash = createHash('sha256').update(rawBody).digest('base64url');
    for (;;) {
      const pending = this.inFlight.get(scoped);
      if (!pending) break;
      await pending.catch(() => undefined);
    }
    const replay = (kept: IdempotencyRecord): T => {
      if (kept.bodyHash !== bodyHash) {
        throw new HeraldError('idempotency_conflict', 'this Idempotency-Key was used with another request body');
      }
      return kept.response as T;
    };
    const kept = await this.store.getIdempotency(scoped, IDEMPOTENCY_TTL_MS);
    if (kept) return replay(kept);
    // Another node may be running the same key right now: wait for its record.
    if (!(await this.store.claimIdempotency(scoped, CLAIM_TTL_MS))) {
      for (let waited = 0; waited < CLAIM_WAIT_MS; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const done = await this.store.getIdempotency(scoped, IDEMPOTENCY_TTL_MS);
        if (done) return replay(done);
      }
      throw new HeraldError('idempotency_conflict', 'a request with this Idempotency-Key is still in progress; retry later');
    }
    const run = work((response) => ({ key: scoped, bodyHash, response }));
    this.inFlight.set(scoped, run);
    try {
      return await run;
    } catch (err) {
      // A refused request (422) stores nothing: let the key be used again at once.
      // If the release fails too (store down), the claim expires after CLAIM_TTL_MS.
      await this.store.releaseIdempotency(scoped).catch(() => undefined);
      throw err;
    } finally {
      this.inFlight.delete(scoped);
    }
  }
}
