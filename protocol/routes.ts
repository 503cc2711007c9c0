/**
 * The REST API as data (SPEC §3, §4): each route once, with who may call it and
 * the zod schemas of what it takes and answers. The server binds one handler to
 * each and runs every request through one dispatcher; the OpenAPI document, the
 * admin UI's API client and the tests' client are derived from this table.
 */
import { z } from 'zod';
import type { Role } from './roles.js';
import {
  batchRequestSchema,
  connectionsQuerySchema,
  feedQuerySchema,
  IDEMPOTENCY_WINDOW,
  idempotencyKeySchema,
  publishRequestSchema,
  readRequestSchema,
  roomsQuerySchema,
  userIdSchema,
} from './requests.js';
import { TOPIC_PATTERN } from './rooms.js';
import * as api from './responses.js';

/**
 * Who may call a route: anyone (`public`), any holder of a valid token
 * (`user`), or a holder of one of the roles of {@link ACCESS_ROLES}.
 */
export type Access = 'public' | 'user' | 'publisher' | 'admin:read' | 'admin';

/** The roles that open each role-bound access. */
export const ACCESS_ROLES: Record<Exclude<Access, 'public' | 'user'>, readonly Role[]> = {
  publisher: ['publisher', 'admin'],
  'admin:read': ['admin', 'admin:read'],
  admin: ['admin'],
};

/** The error statuses a route may answer (each is a code of SPEC §7). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 | 500 | 503;

/** The answer of a route that succeeds. */
export interface Success {
  status: 200 | 202 | 204;
  description: string;
  /** A JSON body; without one, `contentType` names a text body, or there is none (204). */
  schema?: z.ZodType;
  contentType?: 'text/plain' | 'text/html';
}

export interface RouteContract {
  method: 'get' | 'post' | 'put' | 'delete';
  /** In OpenAPI's form: `/api/me/subscriptions/{topic}`. */
  path: string;
  tags: readonly string[];
  summary: string;
  description?: string;
  access: Access;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** Request headers, by their canonical spelling (`Idempotency-Key`). */
  headers?: z.ZodObject;
  /** A JSON body. */
  body?: z.ZodType;
  bodyDescription?: string;
  ok: Success;
  /**
   * The errors a route answers beyond the ones every route of its access does
   * (401, 429 and 500 behind a token; 403 where a role or `forbidden` applies).
   */
  errors?: readonly ErrorStatus[];
  /** What a 403 means here, when not only the role of {@link access}. */
  forbidden?: string;
  /** Refused with 503 while the node is overloaded, before the body is read (SPEC §8). */
  admission?: true;
}

const userId = userIdSchema.meta({ description: "A user's id: the `sub` of their tokens" });
/**
 * A topic in a path. The subscription service checks it against the pattern and
 * the token's topic policy, and answers `invalid_topic`, as the socket events do.
 */
const topic = z.string().meta({ description: 'A topic name', example: 'team.42.alerts', pattern: TOPIC_PATTERN.source });
const idempotency = z.object({
  'Idempotency-Key': idempotencyKeySchema.optional().meta({
    description: `Repeating a key within ${IDEMPOTENCY_WINDOW} returns the first response and delivers nothing again; another body gets 409`,
  }),
});
const json = <S extends z.ZodType, N extends 200 | 202 = 200>(description: string, schema: S, status: N = 200 as N) => ({ status, description, schema });
const text = <T extends 'text/plain' | 'text/html'>(description: string, contentType: T) => ({ status: 200 as const, description, contentType });
const topicsNow = json('The topics after the change', api.subscriptionsSchema);
const anyDocument = z.record(z.string(), z.unknown());

/** Every route of Herald's REST API, by its OpenAPI `operationId`. */
export const ROUTES = {
  publishNotification: {
    method: 'post',
    path: '/api/notifications',
    tags: ['notifications'],
    summary: 'Publish a notification to a user, some users, a topic or everyone',
    access: 'publisher',
    headers: idempotency,
    body: publishRequestSchema,
    ok: json('Stored and being delivered (or the first response for this `Idempotency-Key`)', api.publishResponseSchema, 202),
    errors: [400, 413, 422, 409, 503],
    admission: true,
  },
  publishBatch: {
    method: 'post',
    path: '/api/notifications/batch',
    tags: ['notifications'],
    summary: 'Publish up to 100 notifications; each succeeds or fails on its own',
    access: 'publisher',
    headers: idempotency,
    body: batchRequestSchema,
    bodyDescription: 'Each item is a `PublishRequest`, checked on its own: a bad one gets an `error` result and does not fail the others',
    ok: json('One result per notification, in order', api.batchResponseSchema, 202),
    errors: [400, 413, 422, 409, 503],
    admission: true,
  },
  getMyFeed: {
    method: 'get',
    path: '/api/me/notifications',
    tags: ['me'],
    summary: "The caller's feed",
    description:
      'Without `after`: newest first, `before` exclusive, and `nextCursor` is the `before` of the next page. ' +
      'With `after`: oldest first from `seq > after`, and `nextCursor` is the `after` of the next page.',
    access: 'user',
    query: feedQuerySchema,
    ok: json('A page of the feed', api.feedPageSchema),
    errors: [422],
  },
  markMyNotificationsRead: {
    method: 'post',
    path: '/api/me/notifications/read',
    tags: ['me'],
    summary: 'Mark some or all of the caller’s notifications read',
    access: 'user',
    body: readRequestSchema,
    ok: json('The unread count after the change', api.unreadCountSchema),
    errors: [400, 413, 422],
  },
  getMySubscriptions: {
    method: 'get',
    path: '/api/me/subscriptions',
    tags: ['me'],
    summary: "The caller's topics",
    access: 'user',
    ok: json('The topics', api.subscriptionsSchema),
  },
  subscribeMe: {
    method: 'put',
    path: '/api/me/subscriptions/{topic}',
    tags: ['me'],
    summary: 'Subscribe the caller to a topic',
    access: 'user',
    params: z.object({ topic }),
    ok: topicsNow,
    errors: [422],
    forbidden: "The token's `topics` claim does not allow this topic, or the caller has 1,000 topics already",
  },
  unsubscribeMe: {
    method: 'delete',
    path: '/api/me/subscriptions/{topic}',
    tags: ['me'],
    summary: 'Unsubscribe the caller from a topic',
    access: 'user',
    params: z.object({ topic }),
    ok: topicsNow,
    errors: [422],
  },
  getUserSubscriptions: {
    method: 'get',
    path: '/api/users/{userId}/subscriptions',
    tags: ['users'],
    summary: "A user's topics",
    access: 'publisher',
    params: z.object({ userId }),
    ok: json('The topics', api.subscriptionsSchema),
    errors: [422],
  },
  subscribeUser: {
    method: 'put',
    path: '/api/users/{userId}/subscriptions/{topic}',
    tags: ['users'],
    summary: 'Subscribe a user to a topic (no topic policy applies)',
    access: 'publisher',
    params: z.object({ userId, topic }),
    ok: topicsNow,
    errors: [422],
  },
  unsubscribeUser: {
    method: 'delete',
    path: '/api/users/{userId}/subscriptions/{topic}',
    tags: ['users'],
    summary: 'Unsubscribe a user from a topic',
    access: 'publisher',
    params: z.object({ userId, topic }),
    ok: topicsNow,
    errors: [422],
  },
  getUserPresence: {
    method: 'get',
    path: '/api/presence/users/{userId}',
    tags: ['presence'],
    summary: 'Whether a user is connected, across the cluster',
    access: 'publisher',
    params: z.object({ userId }),
    ok: json('Presence', api.presenceSchema),
    errors: [422],
  },
  getAdminStats: {
    method: 'get',
    path: '/api/admin/stats',
    tags: ['admin'],
    summary: 'Nodes, totals and notification rates',
    access: 'admin:read',
    ok: json('Stats, the shape `/admin` pushes as `stats`', api.statsSchema),
  },
  listRooms: {
    method: 'get',
    path: '/api/admin/rooms',
    tags: ['admin'],
    summary: 'User and topic rooms, largest first',
    access: 'admin:read',
    query: roomsQuerySchema,
    ok: json('A page of rooms', api.roomsPageSchema),
    errors: [422],
  },
  listConnections: {
    method: 'get',
    path: '/api/admin/connections',
    tags: ['admin'],
    summary: 'Connected sockets, filtered by user, room or node',
    access: 'admin:read',
    query: connectionsQuerySchema,
    ok: json('A page of connections', api.connectionsPageSchema),
    errors: [422],
  },
  disconnectSocket: {
    method: 'delete',
    path: '/api/admin/connections/{socketId}',
    tags: ['admin'],
    summary: 'Disconnect one socket, on any node',
    access: 'admin',
    params: z.object({ socketId: z.string().min(1).meta({ description: 'A Socket.IO socket id' }) }),
    ok: { status: 204, description: 'Disconnected' } as const,
    errors: [404],
  },
  disconnectUser: {
    method: 'delete',
    path: '/api/admin/users/{userId}/connections',
    tags: ['admin'],
    summary: "Disconnect all of a user's sockets",
    access: 'admin',
    params: z.object({ userId }),
    ok: json('How many sockets were disconnected', api.disconnectedSchema),
    errors: [422],
  },
  getHealth: {
    method: 'get',
    path: '/healthz',
    tags: ['operations'],
    summary: 'Liveness',
    access: 'public',
    ok: json('Alive', api.healthSchema),
  },
  getReadiness: {
    method: 'get',
    path: '/readyz',
    tags: ['operations'],
    summary: 'Readiness: the store (and Redis, when used) answers',
    access: 'public',
    ok: json('Ready', api.readinessSchema),
    errors: [503],
  },
  getMetrics: {
    method: 'get',
    path: '/metrics',
    tags: ['operations'],
    summary: 'Prometheus metrics',
    description: 'Open unless `METRICS_TOKEN` is set; then it needs that token as `Authorization: Bearer`.',
    access: 'public',
    ok: text('Prometheus text exposition format', 'text/plain'),
    errors: [401],
  },
  getOpenApiDocument: {
    method: 'get',
    path: '/api/openapi.json',
    tags: ['documentation'],
    summary: 'This OpenAPI document',
    access: 'public',
    ok: json('The document', anyDocument),
  },
  getAsyncApiDocument: {
    method: 'get',
    path: '/api/asyncapi.json',
    tags: ['documentation'],
    summary: 'The AsyncAPI 3.0 document of the Socket.IO events (SPEC §5, §6)',
    access: 'public',
    ok: json('The document', anyDocument),
  },
  getApiDocsPage: {
    method: 'get',
    path: '/api/docs',
    tags: ['documentation'],
    summary: 'This document, rendered by Swagger UI',
    access: 'public',
    ok: text('The HTML page (also at `/api/docs/`)', 'text/html'),
  },
  getAsyncApiDocsPage: {
    method: 'get',
    path: '/api/docs/asyncapi',
    tags: ['documentation'],
    summary: 'The socket events (`/api/asyncapi.json`), rendered by the AsyncAPI React component',
    access: 'public',
    ok: text('The HTML page (also at `/api/docs/asyncapi/`)', 'text/html'),
  },
} as const satisfies Record<string, RouteContract>;

export type Routes = typeof ROUTES;
export type OperationId = keyof Routes;

type Output<S> = S extends z.ZodType ? z.output<S> : undefined;
type Input<S> = S extends z.ZodType ? z.input<S> : never;

/** What a route receives once the dispatcher has validated it. */
export interface RouteRequest<R extends RouteContract> {
  params: Output<R['params']>;
  query: Output<R['query']>;
  headers: Output<R['headers']>;
  body: Output<R['body']>;
}

/** What a client sends to a route: only the parts it takes. */
export type ClientRequest<R extends RouteContract> = ('params' extends keyof R ? { params: Input<R['params']> } : unknown) &
  ('query' extends keyof R ? { query?: Input<R['query']> } : unknown) &
  ('headers' extends keyof R ? { headers?: Input<R['headers']> } : unknown) &
  ('body' extends keyof R ? { body: Input<R['body']> } : unknown);

/** The JSON body of a route's success (undefined for 204 and text answers). */
export type SuccessBody<R extends RouteContract> = R['ok'] extends { schema: infer S extends z.ZodType } ? z.output<S> : undefined;

/** Whether a role set may call a route of `access` (authentication aside). */
export function allows(access: Access, roles: readonly Role[]): boolean {
  if (access === 'public' || access === 'user') return true;
  return ACCESS_ROLES[access].some((role) => roles.includes(role));
}

/** What a 403 on a route of `access` means, by default. */
export function roleRequirement(access: Access): string | undefined {
  if (access === 'public' || access === 'user') return undefined;
  const roles = ACCESS_ROLES[access].map((role) => `\`${role}\``);
  return `Needs the ${roles.join(' or ')} role`;
}

/**
 * The path of a route with its parameters filled in, each encoded as one
 * segment, and its query string (empty and undefined values left out).
 *
 * @example
 * pathOf(ROUTES.subscribeUser, { userId: 'ann', topic: 'a/b' }) // '/api/users/ann/subscriptions/a%2Fb'
 */
export function pathOf(route: RouteContract, params: Record<string, string> = {}, query: Record<string, unknown> = {}): string {
  const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${route.path}: no value for {${name}}`);
    return encodeURIComponent(value);
  });
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}
