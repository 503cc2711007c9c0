/**
 * The answers of the REST API and of the socket events (SPEC §4, §5, §6): their
 * shapes, and the zod schemas the API documents are generated from (the server
 * checks at compile time that each schema and its shape agree).
 */
import { z } from 'zod';
import { REST_ERROR_CODES, type ErrorBody } from './errors.js';
import type { Notification } from './notification.js';
import { dataSchema, notificationContentSchema, topicSchema } from './requests.js';
import { ROOM_KINDS } from './rooms.js';

export interface PublishResponse {
  id: string;
  createdAt: string;
  streams: number;
}
/** A refused item of a batch: always a schema violation. */
export type BatchResult = { id: string } | { error: ErrorBody<'invalid_payload'> };
export interface BatchResponse {
  results: BatchResult[];
}

export interface FeedResponse {
  items: Notification[];
  unreadCount: number;
  nextCursor: number | null;
}

const count = z.number().int().min(0);
const isoTime = z.iso.datetime();

export const errorSchema = z
  .object({
    code: z.enum(REST_ERROR_CODES),
    message: z.string().meta({ description: 'For people, not programs; for a 422 it starts with the field' }),
    details: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .meta({ description: 'For `invalid_payload`: every violation, each naming its field (`to.user`, `notifications.3.title`)' }),
  })
  .meta({ id: 'Error' });

export const errorResponseSchema = z
  .object({ error: errorSchema })
  .meta({ id: 'ErrorResponse', description: 'The body of every 4xx and 5xx answer' });

export const notificationSchema = z
  .object({
    id: z.string().meta({ description: 'The same for every recipient', example: 'ntf_01JD2Q7ZKQ4W5G6V8X9Y0Z1A2B' }),
    seq: count.meta({ description: "This recipient's stream entry: unique and increasing across the deployment" }),
    stream: z.string().meta({ description: '`user:<id>`, `topic:<name>` or `broadcast`', example: 'user:alice' }),
    type: notificationContentSchema.shape.type.unwrap(),
    title: notificationContentSchema.shape.title,
    body: notificationContentSchema.shape.body,
    data: dataSchema.optional(),
    createdAt: isoTime,
    readAt: isoTime.nullable(),
  })
  .meta({ id: 'Notification' });

export const feedPageSchema = z
  .object({
    items: z.array(notificationSchema),
    unreadCount: count,
    nextCursor: count.nullable().meta({
      description: 'The `seq` to pass as `before` (or, when paging with `after`, as `after`) for the next page; null at the end',
    }),
  })
  .meta({ id: 'FeedPage' });

export const publishResponseSchema = z
  .object({
    id: z.string(),
    createdAt: isoTime,
    streams: count.meta({ description: 'How many streams the notification was appended to' }),
  })
  .meta({ id: 'PublishResponse' });

export const batchResponseSchema = z
  .object({
    results: z
      .array(z.union([z.object({ id: z.string() }), z.object({ error: errorSchema })]))
      .meta({ description: 'One per notification, in the order sent: its id, or why it was refused' }),
  })
  .meta({ id: 'BatchResponse' });

export const unreadCountSchema = z.object({ unreadCount: count }).meta({ id: 'UnreadCount' });

export const subscriptionsSchema = z.object({ topics: z.array(topicSchema) }).meta({ id: 'Subscriptions' });

export const presenceSchema = z
  .object({ online: z.boolean(), connections: count.meta({ description: 'Sockets of this user' }) })
  .meta({ id: 'Presence' });

export const nodeStatsSchema = z
  .object({
    id: z.string(),
    healthy: z.boolean(),
    uptimeSec: count,
    connections: count,
    eventLoopLagMs: z.number().min(0),
    memory: z.object({ rss: count, heapUsed: count }).meta({ description: 'Bytes' }),
  })
  .meta({ id: 'NodeStats' });

export const statsSchema = z
  .object({
    nodes: z.array(nodeStatsSchema),
    connections: count,
    users: count.meta({ description: 'Users with at least one socket' }),
    rooms: count,
    topics: count.meta({ description: 'Topic rooms with at least one socket' }),
    notifications: z.object({ published: count, delivered: count, ratePerSec: z.number().min(0) }),
  })
  .meta({ id: 'Stats' });

const cursor = z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null at the end' });

export const roomsPageSchema = z
  .object({
    items: z.array(z.object({ name: z.string(), kind: z.enum(ROOM_KINDS), size: count })),
    nextCursor: cursor,
  })
  .meta({ id: 'RoomsPage', description: 'Largest rooms first' });

export const connectionsPageSchema = z
  .object({
    items: z.array(
      z.object({
        socketId: z.string(),
        userId: z.string(),
        rooms: z.array(z.string()),
        transport: z.string().meta({ example: 'websocket' }),
        address: z.string(),
        userAgent: z.string(),
        connectedAt: isoTime,
        node: z.string(),
      }),
    ),
    nextCursor: cursor,
  })
  .meta({ id: 'ConnectionsPage' });

export const disconnectedSchema = z.object({ disconnected: count }).meta({ id: 'Disconnected' });

export const healthSchema = z.object({ status: z.literal('ok') });
export const readinessSchema = z.object({ status: z.literal('ready'), store: z.literal('ok') });
