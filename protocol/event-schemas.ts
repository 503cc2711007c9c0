/**
 * Every Socket.IO event of SPEC §5 and §6 as data: who sends it, its payload's
 * zod schema and, for a client's request, the schema of its acknowledgement.
 * The AsyncAPI document is generated from this table, and the type checks at
 * the end make `tsc` fail when a schema here and the event maps of events.ts
 * drift apart.
 */
import { z } from 'zod';
import type {
  AdminReadyPayload,
  AdminServerToClientEvents,
  ClientToServerEvents,
  ReadyPayload,
  ServerToClientEvents,
} from './events.js';
import { ERROR_STATUS, type ErrorCode } from './errors.js';
import { readRequestSchema, subscriptionRequestSchema, syncRequestSchema } from './requests.js';
import { nodeStatsSchema, notificationSchema, statsSchema, subscriptionsSchema, unreadCountSchema } from './responses.js';
import { TARGET_KINDS } from './notification.js';
import { ROLES } from './roles.js';

const count = z.number().int().min(0);
const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

export const ackErrorSchema = z
  .object({ ok: z.literal(false), error: z.object({ code: z.enum(ERROR_CODES), message: z.string() }) })
  .meta({ id: 'AckError', description: 'A refused request: the same codes as REST, and the socket-only ones (`unknown_event`, …)' });

/** The acknowledgement of a request: `{ok: true, …fields}` or an {@link ackErrorSchema}. */
function ack<S extends z.ZodRawShape>(id: string, fields: S) {
  return z.union([z.object({ ok: z.literal(true), ...fields }), ackErrorSchema]).meta({ id });
}

export const readyPayloadSchema = z
  .object({
    userId: z.string(),
    socketId: z.string(),
    node: z.string(),
    topics: z.array(z.string()),
    unreadCount: count,
    missed: z.array(notificationSchema).meta({ description: 'The oldest page after `auth.lastSeq` (empty without it)' }),
    hasMore: z.boolean().meta({ description: 'Page the rest with `sync`, from the last missed entry' }),
  })
  .meta({ id: 'ReadyPayload' });

const expiredSchema = z.object({ code: z.literal('token_expired') }).meta({ id: 'AuthExpired' });

const activitySampleSchema = z
  .object({ t: z.number().int().meta({ description: 'The second, in ms since the epoch' }), connections: count, published: count, delivered: count })
  .meta({ id: 'ActivitySample' });

const recentNotificationSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    title: z.string(),
    target: z.object({ kind: z.enum(TARGET_KINDS), names: z.array(z.string()), count }),
    publisher: z.string(),
    deliveries: count,
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'RecentNotification' });

export const adminReadyPayloadSchema = z
  .object({
    userId: z.string(),
    roles: z.array(z.enum(ROLES)).readonly(),
    canAct: z.boolean(),
    node: z.string(),
    statsIntervalMs: count,
    stats: statsSchema,
    history: z.array(activitySampleSchema),
    recent: z.array(recentNotificationSchema),
  })
  .meta({ id: 'AdminReadyPayload' });

/** The schemas with an id that the payloads nest: each is one component, referenced from the others. */
export const NESTED_SCHEMAS: readonly z.ZodType[] = [ackErrorSchema, notificationSchema, statsSchema, nodeStatsSchema, activitySampleSchema, recentNotificationSchema];

export interface EventSchema {
  /** `server`: Herald emits it; `client`: a client emits it, with an acknowledgement. */
  from: 'server' | 'client';
  summary: string;
  payload: z.ZodType;
  ack?: z.ZodType;
}

/** The user namespace `/` (SPEC §5). */
export const USER_EVENTS = {
  ready: { from: 'server', summary: 'Once per connection, after the handshake: topics, unread count and what was missed', payload: readyPayloadSchema },
  notification: { from: 'server', summary: 'A feed entry, live', payload: notificationSchema },
  unread: { from: 'server', summary: 'The unread count changed', payload: unreadCountSchema },
  subscriptions: { from: 'server', summary: "The user's topics changed (on any of their sockets or over REST)", payload: subscriptionsSchema },
  'auth:expired': { from: 'server', summary: 'The token expired; the socket is disconnected', payload: expiredSchema },
  subscribe: { from: 'client', summary: 'Subscribe to a topic', payload: subscriptionRequestSchema, ack: ack('SubscribeAck', { topics: z.array(z.string()) }) },
  unsubscribe: { from: 'client', summary: 'Unsubscribe from a topic', payload: subscriptionRequestSchema, ack: ack('UnsubscribeAck', { topics: z.array(z.string()) }) },
  sync: { from: 'client', summary: 'A page of the feed after `afterSeq`, oldest first', payload: syncRequestSchema, ack: ack('SyncAck', { items: z.array(notificationSchema), hasMore: z.boolean() }) },
  read: { from: 'client', summary: 'Mark some or all notifications read', payload: readRequestSchema, ack: ack('ReadAck', { unreadCount: count }) },
  'auth:refresh': {
    from: 'client',
    summary: 'Present a fresh token with the same `sub` before the current one expires',
    payload: z.object({ token: z.string() }).meta({ id: 'AuthRefresh' }),
    ack: ack('AuthRefreshAck', { expiresAt: z.iso.datetime() }),
  },
} as const satisfies Record<keyof ServerToClientEvents | keyof ClientToServerEvents, EventSchema>;

/** The admin namespace `/admin` (SPEC §6): it only listens; admin actions go through REST. */
export const ADMIN_EVENTS = {
  ready: { from: 'server', summary: 'Once per connection: roles, stats, the last ten minutes and the latest notifications', payload: adminReadyPayloadSchema },
  stats: { from: 'server', summary: 'Every `ADMIN_STATS_INTERVAL_MS`: the shape of `GET /api/admin/stats`', payload: statsSchema },
  activity: { from: 'server', summary: 'Per-second samples since the previous push, oldest first', payload: z.object({ samples: z.array(activitySampleSchema) }).meta({ id: 'Activity' }) },
  notifications: { from: 'server', summary: 'Notifications published since the previous push, newest first', payload: z.object({ items: z.array(recentNotificationSchema) }).meta({ id: 'RecentNotifications' }) },
  'auth:expired': { from: 'server', summary: 'The token expired; the socket is disconnected', payload: expiredSchema },
} as const satisfies Record<keyof AdminServerToClientEvents, EventSchema>;

// Each schema says exactly what the event maps say.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
type Payload<F> = F extends (payload: infer P, ...rest: never[]) => void ? P : never;
type AckOf<F> = F extends (payload: never, ack: (response: infer R) => void) => void ? R : never;
export type EventSchemasDescribeTheMaps = [
  Holds<Same<z.output<typeof readyPayloadSchema>, ReadyPayload>>,
  Holds<Same<z.output<typeof adminReadyPayloadSchema>, AdminReadyPayload>>,
  Holds<Same<z.output<typeof unreadCountSchema>, Payload<ServerToClientEvents['unread']>>>,
  Holds<Same<z.output<typeof expiredSchema>, Payload<ServerToClientEvents['auth:expired']>>>,
  Holds<Same<z.output<typeof USER_EVENTS.sync.ack>, AckOf<ClientToServerEvents['sync']>>>,
  Holds<Same<z.output<typeof USER_EVENTS.read.ack>, AckOf<ClientToServerEvents['read']>>>,
  Holds<Same<z.output<typeof USER_EVENTS.subscribe.ack>, AckOf<ClientToServerEvents['subscribe']>>>,
  Holds<Same<z.output<typeof USER_EVENTS['auth:refresh']['ack']>, AckOf<ClientToServerEvents['auth:refresh']>>>,
  Holds<Same<z.input<typeof syncRequestSchema>, Payload<ClientToServerEvents['sync']>>>,
  Holds<Same<z.input<typeof readRequestSchema>, Payload<ClientToServerEvents['read']>>>,
];
