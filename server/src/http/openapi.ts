import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { IDEMPOTENCY_WINDOW } from '../../../protocol/requests.js';
import type { ErrorBody } from '../../../protocol/errors.js';
import type { Notification } from '../../../protocol/notification.js';
import type { AdminStats, ConnectionInfo, Page, RoomInfo } from '../../../protocol/admin.js';
import {
  connectionsPageSchema,
  errorResponseSchema,
  errorSchema,
  feedPageSchema,
  notificationSchema,
  presenceSchema,
  publishResponseSchema,
  roomsPageSchema,
  statsSchema,
  type FeedResponse,
  type PublishResponse,
} from '../../../protocol/responses.js';
import type { AdminDirectory } from '../realtime/admin-directory.js';
import { roleRequirement, ROUTES, type ErrorStatus, type RouteContract, type Success } from '../../../protocol/routes.js';

type OpenAPIObject = ReturnType<OpenApiGeneratorV31['generateDocument']>;

/** The version both API documents carry. */
export const API_VERSION = '0.1.0';
/** The little of a JSON schema that {@link refine} touches. */
interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode | { $ref: string };
}

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
function errorResponses(statuses: ErrorStatus[], forbidden?: string): Record<number, ResponseConfig> {
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

/** Every route behind the bearer token can answer these. */
const AUTHENTICATED: ErrorStatus[] = [401, 429, 500];

/** Node's HTTP server answers this on every route, before Herald sees the request. */
const HEADERS_TOO_LARGE: Record<number, ResponseConfig> = {
  431: { description: "The request's headers are over Node's limit of 16 KiB: answered by the HTTP server itself, with no body" },
};

/** The success of a route, as OpenAPI says it. */
function success(ok: Success): Record<number, ResponseConfig> {
  if (ok.schema) return { [ok.status]: { description: ok.description, content: { 'application/json': { schema: ok.schema } } } };
  if (ok.contentType) return { [ok.status]: { description: ok.description, content: { [ok.contentType]: { schema: z.string() } } } };
  return { [ok.status]: { description: ok.description } };
}

/** The operation of one route of the table. */
function operationOf(operationId: string, route: RouteContract): RouteConfig & { operationId: string } {
  const forbidden = route.forbidden ?? roleRequirement(route.access);
  const statuses: ErrorStatus[] = [...(route.access === 'public' ? [] : AUTHENTICATED), ...(route.errors ?? []), ...(forbidden ? [403 as const] : [])];
  const body = route.body && { required: true, description: route.bodyDescription, content: { 'application/json': { schema: route.body } } };
  const request = {
    ...(route.params ? { params: route.params } : {}),
    ...(route.query ? { query: route.query } : {}),
    ...(route.headers ? { headers: route.headers } : {}),
    ...(body ? { body } : {}),
  };
  return {
    method: route.method,
    path: route.path,
    operationId,
    tags: [...route.tags],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    security: route.access === 'public' ? [] : [{ bearerAuth: [] }],
    ...(Object.keys(request).length > 0 ? { request } : {}),
    responses: { ...success(route.ok), ...errorResponses(statuses, forbidden), ...HEADERS_TOO_LARGE },
  };
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
  for (const [operationId, route] of Object.entries(ROUTES) as [string, RouteContract][]) {
    registry.registerPath(operationOf(operationId, route));
  }
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
        description:
          'REST API of Herald, a real-time notification platform on Socket.IO. Errors are `{"error":{"code","message","details?"}}`. ' +
          'The socket events are the AsyncAPI document `/api/asyncapi.json`, rendered at [/api/docs/asyncapi](asyncapi).',
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

// What the code returns must be exactly what the document says (the handlers' types check one
// direction: what they return fits the schema), and the error codes it lists must be real ones.
/** True when A and B are the same type. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;

export type ResponsesDescribeTheCode = [
  Holds<Same<z.output<typeof notificationSchema>, Notification>>,
  Holds<Same<z.output<typeof feedPageSchema>, FeedResponse>>,
  Holds<Same<z.output<typeof publishResponseSchema>, PublishResponse>>,
  Holds<z.output<typeof errorSchema> extends ErrorBody ? true : false>,
  Holds<Same<z.output<typeof statsSchema>, AdminStats>>,
  Holds<Same<z.output<typeof roomsPageSchema>, Page<RoomInfo>>>,
  Holds<Same<z.output<typeof connectionsPageSchema>, Page<ConnectionInfo>>>,
  Holds<Same<z.output<typeof presenceSchema>, Awaited<ReturnType<AdminDirectory['presence']>>>>,
];
