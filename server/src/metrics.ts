import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TargetKind } from '../../protocol/notification.js';
import type { PublishObserver } from './domain/notification-service.js';
import type { RefusalReason } from './edge/admission.js';
import type { EdgeCounters } from './edge/edge.js';
import type { Activity } from './realtime/activity.js';

/**
 * Prometheus metrics of one Herald instance, in its own registry (so that
 * several instances in one test process do not collide).
 */
export class HeraldMetrics implements PublishObserver, EdgeCounters {
  readonly registry = new Registry();
  private readonly publishedTotal: Counter<'target'>;
  private readonly deliveredTotal: Counter<'target'>;
  private readonly publishDuration: Histogram<'target'>;
  private readonly activity: Activity;
  private readonly handshakesRefused: Counter<'reason'>;
  private readonly slowConsumerCloses: Counter;
  private readonly publishesRefused: Counter<'reason'>;
  private readonly overloads: Counter;
  private readonly unhandledRejections: Counter;
  private readonly catchUpBatchSize: Histogram;

  constructor(sources: {
    connections: () => number;
    usersOnline: () => number;
    activity: Activity;
    overloaded?: () => boolean;
    draining?: () => boolean;
    handshakesWaiting?: () => number;
  }) {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    this.publishedTotal = new Counter({
      name: 'herald_notifications_published_total',
      help: 'Notifications accepted and stored, by target kind',
      labelNames: ['target'],
      registers: [this.registry],
    });
    this.deliveredTotal = new Counter({
      name: 'herald_notifications_delivered_total',
      help: 'Live deliveries to sockets on this node, by target kind',
      labelNames: ['target'],
      registers: [this.registry],
    });
    this.publishDuration = new Histogram({
      name: 'herald_publish_duration_seconds',
      help: 'Time from accepting a publish request to its durable commit, once per request and target kind',
      labelNames: ['target'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [this.registry],
    });
    new Gauge({
      name: 'herald_connections',
      help: 'Sockets connected to this node',
      registers: [this.registry],
      collect() {
        this.set(sources.connections());
      },
    });
    new Gauge({
      name: 'herald_users_online',
      help: 'Users with at least one socket on this node',
      registers: [this.registry],
      collect() {
        this.set(sources.usersOnline());
      },
    });
    new Gauge({
      name: 'herald_event_loop_lag_seconds',
      help: 'Mean event-loop delay over the last second',
      registers: [this.registry],
      collect() {
        this.set(sources.activity.eventLoopLagMs / 1000);
      },
    });
    this.activity = sources.activity;
    this.handshakesRefused = new Counter({
      name: 'herald_handshakes_refused_total',
      help: 'New connections answered 503 before any Socket.IO work, by reason (rate, overload, draining)',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    for (const reason of ['rate', 'overload', 'draining'] as const) this.handshakesRefused.inc({ reason }, 0);
    this.slowConsumerCloses = new Counter({
      name: 'herald_slow_consumer_closes_total',
      help: 'Transports closed because their unsent output passed MAX_SOCKET_BUFFER_BYTES',
      registers: [this.registry],
    });
    this.publishesRefused = new Counter({
      name: 'herald_publishes_refused_total',
      help: 'Publish requests answered 503 because the node was overloaded',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.publishesRefused.inc({ reason: 'overload' }, 0);
    this.overloads = new Counter({
      name: 'herald_overloads_total',
      help: 'Times the event loop lagged past OVERLOAD_LAG_MS (each starts refusals until the loop keeps time again)',
      registers: [this.registry],
    });
    this.catchUpBatchSize = new Histogram({
      name: 'herald_catch_up_batch_size',
      help: 'Connecting sockets whose reads before ready shared one store round',
      buckets: [1, 2, 5, 10, 20, 50],
      registers: [this.registry],
    });
    this.unhandledRejections = new Counter({
      name: 'herald_unhandled_rejections_total',
      help: 'Promise rejections nobody handled (a defect: each is logged at error)',
      registers: [this.registry],
    });
    new Gauge({
      name: 'herald_overloaded',
      help: '1 while new handshakes and publishes are refused for event-loop lag',
      registers: [this.registry],
      collect() {
        this.set(sources.overloaded?.() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'herald_handshakes_waiting',
      help: 'New handshakes past MAX_HANDSHAKES_PER_SEC waiting for a slot (at most ten seconds each)',
      registers: [this.registry],
      collect() {
        this.set(sources.handshakesWaiting?.() ?? 0);
      },
    });
    new Gauge({
      name: 'herald_draining',
      help: '1 while the node drains (SIGTERM)',
      registers: [this.registry],
      collect() {
        this.set(sources.draining?.() ? 1 : 0);
      },
    });
  }

  handshakeRefused(reason: RefusalReason): void {
    this.handshakesRefused.inc({ reason });
  }

  slowConsumerClosed(): void {
    this.slowConsumerCloses.inc();
  }

  publishRefused(reason: 'overload'): void {
    this.publishesRefused.inc({ reason });
  }

  overloaded(): void {
    this.overloads.inc();
  }

  catchUpBatch(size: number): void {
    this.catchUpBatchSize.observe(size);
  }

  unhandledRejection(): void {
    this.unhandledRejections.inc();
  }

  published(kind: TargetKind, count: number, deliveries: number, seconds: number): void {
    this.publishedTotal.inc({ target: kind }, count);
    this.deliveredTotal.inc({ target: kind }, deliveries);
    this.publishDuration.observe({ target: kind }, seconds);
    this.activity.record(count, deliveries);
  }
}
