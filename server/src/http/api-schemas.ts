/**
 * Zod schemas of what the REST API answers, for the OpenAPI document only:
 * requests are described by the very schemas that validate them (in the domain
 * and route modules), responses by these. The type checks at the end of the
 * file make `tsc` fail when a schema here and the value the code returns drift
 * apart.
 */
import type { ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { REST_ERROR_CODES, type ErrorBody } from '../../../protocol/errors.js';
import type { FeedResponse } from '../../../protocol/responses.js';
import { IDEMPOTENCY_WINDOW } from '../domain/idempotency.js';
import { dataSchema, notificationContentSchema, topicSchema } from '../../../protocol/requests.js';
import type { Notification } from '../../../protocol/notification.js';
import type { BatchResult, PublishResponse } from '../../../protocol/responses.js';
import type { AdminDirectory } from '../realtime/admin-directory.js';
import type { AdminStats, ConnectionInfo, Page, RoomInfo } from '../../../protocol/admin.js';

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

const nodeStatsSchema = z
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
    items: z.array(z.object({ name: z.string(), kind: z.enum(['user', 'topic']), size: count })),
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

// The responses of a route, for the OpenAPI registry.

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 | 500 | 503;

const errorDescriptions: Record<ErrorStatus, string> = {
  400: 'The body is not valid JSON (`malformed_json`)',
  401: 'No or bad token: `token_missing`, `token_invalid` or `token_expired`',
  403: "The token's roles or topic policy do not allow this (`forbidden`)",
  404: 'Nothing there (`not_found`)',
  409: `This \`Idempotency-Key\` was used within ${IDEMPOTENCY_WINDOW} with another body (\`idempotency_conflict\`)`,
  413: 'The body is over `MAX_BODY_BYTES`, 64 KiB by default (`payload_too_large`)',
  422: 'A value breaks the schema (`invalid_payload`, `invalid_topic`); `details` name the fields',
  429: 'Too many requests from this caller (`rate_limited`); retry after `Retry-After` seconds',
  500: 'An unexpected failure (`internal`)',
  503: 'Not ready (`unavailable`): the store or Redis is down, the node is shutting down, or (publishing) its event loop is overloaded; retry after `Retry-After` seconds when it is set',
};

/** The error responses of a route; the 403 says what `forbidden` means there. */
export function errors(statuses: ErrorStatus[], forbidden?: string): Record<number, ResponseConfig> {
  const responses: Record<number, ResponseConfig> = {};
  for (const status of [...new Set(statuses)].sort((a, b) => a - b)) {
    responses[status] = {
      description: status === 403 && forbidden ? `${forbidden} (\`forbidden\`)` : errorDescriptions[status],
      content: { 'application/json': { schema: errorResponseSchema } },
      ...(status === 429 || status === 503 ? { headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer', minimum: 1 } } } } : {}),
    };
  }
  return responses;
}

export const json = (description: string, schema: z.ZodType): ResponseConfig => ({ description, content: { 'application/json': { schema } } });
/** True when A and B are the same type. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;

// What the code returns must be exactly what the document says, and the error
// codes the document lists must be real ones.
export type ResponsesDescribeTheCode = [
  Holds<Same<z.output<typeof notificationSchema>, Notification>>,
  Holds<Same<z.output<typeof feedPageSchema>, FeedResponse>>,
  Holds<Same<z.output<typeof publishResponseSchema>, PublishResponse>>,
  Holds<z.output<typeof batchResponseSchema>['results'][number] extends BatchResult ? true : false>,
  Holds<z.output<typeof errorSchema> extends ErrorBody ? true : false>,
  Holds<Same<z.output<typeof statsSchema>, AdminStats>>,
  Holds<Same<z.output<typeof roomsPageSchema>, Page<RoomInfo>>>,
  Holds<Same<z.output<typeof connectionsPageSchema>, Page<ConnectionInfo>>>,
  Holds<Same<z.output<typeof presenceSchema>, Awaited<ReturnType<AdminDirectory['presence']>>>>,
];
