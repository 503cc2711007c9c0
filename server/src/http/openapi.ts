import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { feedQuerySchema, readRequestSchema } from '../../../protocol/requests.js';
import { IDEMPOTENCY_WINDOW } from '../domain/idempotency.js';
import { batchRequestSchema, publishRequestSchema, topicSchema, userIdSchema } from '../../../protocol/requests.js';
import * as api from '../../../protocol/responses.js';
import { errors, json, type ErrorStatus } from './api-schemas.js';
import { connectionsQuerySchema, roomsQuerySchema } from './routes/admin.js';

type OpenAPIObject = ReturnType<OpenApiGeneratorV31['generateDocument']>;

/** The version both API documents carry. */
export const API_VERSION = '0.1.0';
/** The little of a JSON schema that {@link refine} touches. */
interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode | { $ref: string };
}

/** Every route behind the bearer token can answer these. */
const AUTHENTICATED: ErrorStatus[] = [401, 429, 500];
/** And these where it reads a JSON body. */
const WITH_BODY: ErrorStatus[] = [400, 413, 422];

const jsonBody = (schema: z.ZodType, description?: string) => ({ required: true, description, content: { 'application/json': { schema } } });

const userId = userIdSchema.meta({ description: "A user's id: the `sub` of their tokens" });
const topic = topicSchema.meta({ description: 'A topic name', example: 'team.42.alerts' });
const idempotencyKey = z
  .string()
  // The pattern `NotificationService` checks the header against.
  .regex(/^[\x21-\x7e]{1,255}$/)
  .optional()
  .meta({ description: `Repeating a key within ${IDEMPOTENCY_WINDOW} returns the first response and delivers nothing again; another body gets 409` });

const publisherOnly = 'Needs the `publisher` or `admin` role';
const adminReadOnly = 'Needs the `admin` or `admin:read` role';
const adminOnly = 'Needs the `admin` role';
const bearer = [{ bearerAuth: [] }];
const topicsNow = json('The topics after the change', api.subscriptionsSchema);

/** An operation, named (`operationId` gives generated clients their method names). */
type Operation = RouteConfig & { operationId: string };

/** Node's HTTP server answers this on every route, before Herald sees the request. */
const HEADERS_TOO_LARGE: Record<number, ResponseConfig> = {
  431: { description: "The request's headers are over Node's limit of 16 KiB: answered by the HTTP server itself, with no body" },
};

/** Registers an operation, with the answer every route can give. */
function route(registry: OpenAPIRegistry, operation: Operation): void {
  registry.registerPath({ ...operation, responses: { ...operation.responses, ...HEADERS_TOO_LARGE } });
}

/** Registers an operation behind the bearer token, with the errors every such route can answer. */
function apiRoute(registry: OpenAPIRegistry, operation: Operation & { errors?: ErrorStatus[]; forbidden?: string }): void {
  const { errors: extra = [], forbidden, responses, ...rest } = operation;
  const statuses = [...AUTHENTICATED, ...extra, ...(forbidden ? [403 as const] : [])];
  route(registry, { ...rest, security: bearer, responses: { ...responses, ...errors(statuses, forbidden) } });
}

function registerNotificationRoutes(registry: OpenAPIRegistry): void {
  const headers = z.object({ 'Idempotency-Key': idempotencyKey });
  apiRoute(registry, {
    method: 'post',
    path: '/api/notifications',
    operationId: 'publishNotification',
    tags: ['notifications'],
    summary: 'Publish a notification to a user, some users, a topic or everyone',
    request: { headers, body: jsonBody(publishRequestSchema.meta({ id: 'PublishRequest' })) },
    responses: { 202: json('Stored and being delivered (or the first response for this `Idempotency-Key`)', api.publishResponseSchema) },
    errors: [...WITH_BODY, 409, 503],
    forbidden: publisherOnly,
  });
  apiRoute(registry, {
    method: 'post',
    path: '/api/notifications/batch',
    operationId: 'publishBatch',
    tags: ['notifications'],
    summary: 'Publish up to 100 notifications; each succeeds or fails on its own',
    request: {
      headers,
      body: jsonBody(
        batchRequestSchema.meta({ id: 'BatchRequest' }),
        'Each item is a `PublishRequest`, checked on its own: a bad one gets an `error` result and does not fail the others',
      ),
    },
    responses: { 202: json('One result per notification, in order', api.batchResponseSchema) },
    errors: [...WITH_BODY, 409, 503],
    forbidden: publisherOnly,
  });
}

function registerMeRoutes(registry: OpenAPIRegistry): void {
  const params = z.object({ topic });
  apiRoute(registry, {
    method: 'get',
    path: '/api/me/notifications',
    operationId: 'getMyFeed',
    tags: ['me'],
    summary: "The caller's feed",
    description:
      'Without `after`: newest first, `before` exclusive, and `nextCursor` is the `before` of the next page. ' +
      'With `after`: oldest first from `seq > after`, and `nextCursor` is the `after` of the next page.',
    request: { query: feedQuerySchema },
    responses: { 200: json('A page of the feed', api.feedPageSchema) },
    errors: [422],
  });
  apiRoute(registry, {
    method: 'post',
    path: '/api/me/notifications/read',
    operationId: 'markMyNotificationsRead',
    tags: ['me'],
    summary: 'Mark some or all of the caller’s notifications read',
    request: { body: jsonBody(readRequestSchema) },
    responses: { 200: json('The unread count after the change', api.unreadCountSchema) },
    errors: WITH_BODY,
  });
  apiRoute(registry, {
    method: 'get',
    path: '/api/me/subscriptions',
    operationId: 'getMySubscriptions',
    tags: ['me'],
    summary: "The caller's topics",
    responses: { 200: json('The topics', api.subscriptionsSchema) },
  });
  apiRoute(registry, {
    method: 'put',
    path: '/api/me/subscriptions/{topic}',
    operationId: 'subscribeMe',
    tags: ['me'],
    summary: 'Subscribe the caller to a topic',
    request: { params },
    responses: { 200: topicsNow },
    errors: [422],
    forbidden: "The token's `topics` claim does not allow this topic, or the caller has 1,000 topics already",
  });
  apiRoute(registry, {
    method: 'delete',
    path: '/api/me/subscriptions/{topic}',
    operationId: 'unsubscribeMe',
    tags: ['me'],
    summary: 'Unsubscribe the caller from a topic',
    request: { params },
    responses: { 200: topicsNow },
    errors: [422],
  });
}

function registerUserRoutes(registry: OpenAPIRegistry): void {
  const common = { tags: ['users'], errors: [422] as ErrorStatus[], forbidden: publisherOnly };
  apiRoute(registry, {
    ...common,
    method: 'get',
    path: '/api/users/{userId}/subscriptions',
    operationId: 'getUserSubscriptions',
    summary: "A user's topics",
    request: { params: z.object({ userId }) },
    responses: { 200: json('The topics', api.subscriptionsSchema) },
  });
  for (const [method, operationId, summary] of [
    ['put', 'subscribeUser', 'Subscribe a user to a topic (no topic policy applies)'],
    ['delete', 'unsubscribeUser', 'Unsubscribe a user from a topic'],
  ] as const) {
    apiRoute(registry, {
      ...common,
      method,
      path: '/api/users/{userId}/subscriptions/{topic}',
      operationId,
      summary,
      request: { params: z.object({ userId, topic }) },
      responses: { 200: topicsNow },
    });
  }
  apiRoute(registry, {
    ...common,
    method: 'get',
    path: '/api/presence/users/{userId}',
    operationId: 'getUserPresence',
    tags: ['presence'],
    summary: 'Whether a user is connected, across the cluster',
    request: { params: z.object({ userId }) },
    responses: { 200: json('Presence', api.presenceSchema) },
  });
}

function registerAdminRoutes(registry: OpenAPIRegistry): void {
  const tags = ['admin'];
  apiRoute(registry, {
    method: 'get',
    path: '/api/admin/stats',
    operationId: 'getAdminStats',
    tags,
    summary: 'Nodes, totals and notification rates',
    responses: { 200: json('Stats, the shape `/admin` pushes as `stats`', api.statsSchema) },
    forbidden: adminReadOnly,
  });
  apiRoute(registry, {
    method: 'get',
    path: '/api/admin/rooms',
    operationId: 'listRooms',
    tags,
    summary: 'User and topic rooms, largest first',
    request: { query: roomsQuerySchema },
    responses: { 200: json('A page of rooms', api.roomsPageSchema) },
    errors: [422],
    forbidden: adminReadOnly,
  });
  apiRoute(registry, {
    method: 'get',
    path: '/api/admin/connections',
    operationId: 'listConnections',
    tags,
    summary: 'Connected sockets, filtered by user, room or node',
    request: { query: connectionsQuerySchema },
    responses: { 200: json('A page of connections', api.connectionsPageSchema) },
    errors: [422],
    forbidden: adminReadOnly,
  });
  apiRoute(registry, {
    method: 'delete',
    path: '/api/admin/connections/{socketId}',
    operationId: 'disconnectSocket',
    tags,
    summary: 'Disconnect one socket, on any node',
    request: { params: z.object({ socketId: z.string().min(1).meta({ description: 'A Socket.IO socket id' }) }) },
    responses: { 204: { description: 'Disconnected' } },
    errors: [404],
    forbidden: adminOnly,
  });
  apiRoute(registry, {
    method: 'delete',
    path: '/api/admin/users/{userId}/connections',
    operationId: 'disconnectUser',
    tags,
    summary: "Disconnect all of a user's sockets",
    request: { params: z.object({ userId }) },
    responses: { 200: json('How many sockets were disconnected', api.disconnectedSchema) },
    errors: [422],
    forbidden: adminOnly,
  });
}

function registerPublicRoutes(registry: OpenAPIRegistry): void {
  const open = { security: [], tags: ['operations'] };
  const text = (description: string, type: string): ResponseConfig => ({ description, content: { [type]: { schema: z.string() } } });
  route(registry, { ...open, method: 'get', path: '/healthz', operationId: 'getHealth', summary: 'Liveness', responses: { 200: json('Alive', api.healthSchema) } });
  route(registry, {
    ...open,
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    summary: 'Readiness: the store (and Redis, when used) answers',
    responses: { 200: json('Ready', api.readinessSchema), ...errors([503]) },
  });
  route(registry, {
    ...open,
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    summary: 'Prometheus metrics',
    description: 'Open unless `METRICS_TOKEN` is set; then it needs that token as `Authorization: Bearer`.',
    responses: { 200: text('Prometheus text exposition format', 'text/plain'), ...errors([401]) },
  });
  const docs = { ...open, tags: ['documentation'], method: 'get' as const };
  route(registry, {
    ...docs,
    path: '/api/openapi.json',
    operationId: 'getOpenApiDocument',
    summary: 'This OpenAPI document',
    responses: { 200: json('The document', z.record(z.string(), z.unknown())) },
  });
  route(registry, {
    ...docs,
    path: '/api/asyncapi.json',
    operationId: 'getAsyncApiDocument',
    summary: 'The AsyncAPI 3.0 document of the Socket.IO events (SPEC §5, §6)',
    responses: { 200: json('The document', z.record(z.string(), z.unknown())) },
  });
  route(registry, {
    ...docs,
    path: '/api/docs',
    operationId: 'getApiDocsPage',
    summary: 'This document, rendered by Swagger UI',
    responses: { 200: text('The HTML page (also at `/api/docs/`)', 'text/html') },
  });
}

/**
 * Adjusts what the generator cannot know:
 * - a parameter is never null (z.coerce accepts null in JavaScript, which the
 *   generator reads as "nullable", but a query string cannot carry one);
 * - a batch item is a `PublishRequest`, although `batchRequestSchema` takes
 *   `unknown` items so that each is checked on its own.
 */
function refine(document: OpenAPIObject): OpenAPIObject {
  for (const pathItem of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(pathItem) as { parameters?: { schema?: SchemaNode }[] }[]) {
      for (const { schema } of operation.parameters ?? []) {
        if (Array.isArray(schema?.type)) schema.type = schema.type.find((t) => t !== 'null');
      }
    }
  }
  const batch = document.components?.schemas?.BatchRequest as SchemaNode;
  batch.properties!.notifications!.items = { $ref: '#/components/schemas/PublishRequest' };
  return document;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) Object.values(Object.freeze(value)).forEach(deepFreeze);
  return value;
}

function generate(): OpenAPIObject {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A JWT whose `sub` is the user id and whose `roles` may hold `admin`, `admin:read` or `publisher`',
  });
  registerNotificationRoutes(registry);
  registerMeRoutes(registry);
  registerUserRoutes(registry);
  registerAdminRoutes(registry);
  registerPublicRoutes(registry);
  const generator = new OpenApiGeneratorV31(registry.definitions, { unionPreferredType: 'oneOf' });
  return refine(
    generator.generateDocument({
      openapi: '3.1.0',
      // The site root of whoever served the document (this node, or a load balancer in front of it).
      servers: [{ url: '/', description: 'The Herald node (or load balancer) that served this document' }],
      info: {
        title: 'Herald',
        version: API_VERSION,
        // package.json's: a private package, no licence granted (SPDX's form of a name of one's own).
        license: { name: 'UNLICENSED', identifier: 'LicenseRef-UNLICENSED' },
        description: 'REST API of Herald, a real-time notification platform on Socket.IO. Errors are `{"error":{"code","message","details?"}}`.',
      },
    }),
  );
}

/** The document is the same for every app, so it is built once, on first use, and frozen. */
let built: Record<string, unknown> | undefined;

/**
 * The OpenAPI 3.1 document of the REST API, generated from the zod schemas that
 * validate the requests and from those of {@link api} that describe the answers.
 *
 * @example
 * app.get('/api/openapi.json', (_req, res) => res.json(buildOpenApiDocument()));
 */
export function buildOpenApiDocument(): Record<string, unknown> {
  built ??= deepFreeze({ ...generate() });
  return built;
}
