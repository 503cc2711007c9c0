import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TargetKind } from './domain/notification.js';
import type { PublishObserver } from './domain/notification-service.js';
import type { Activity } from './realtime/activity.js';

/**
 * Prometheus metrics of one Herald instance, in its own registry (so that
 * several instances in one test process do not collide).
 */
export class HeraldMetrics implements PublishObserver {
  readonly registry = new Registry();
  private readonly publishedTotal: Counter<'target'>;
  private readonly deliveredTotal: Counter<'target'>;
  private readonly publishDuration: Histogram<'target'>;
  private readonly activity: Activity;

  constructor(sources: { connections: () => number; usersOnline: () => number; activity: Activity }) {
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
  }

  published(kind: TargetKind, count: number, deliveries: number, seconds: number): void {
    this.publishedTotal.inc({ target: kind }, count);
    this.deliveredTotal.inc({ target: kind }, deliveries);
    this.publishDuration.observe({ target: kind }, seconds);
    this.activity.record(count, deliveries);
  }
}
