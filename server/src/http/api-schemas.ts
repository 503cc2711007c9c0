/**
 * The OpenAPI side of the answers: the error responses of a route, and the type
 * checks that make `tsc` fail when a schema of protocol/responses.ts and the
 * value the code returns drift apart.
 */
import type { ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import type { ErrorBody } from '../../../protocol/errors.js';
import type { FeedResponse } from '../../../protocol/responses.js';
import { IDEMPOTENCY_WINDOW } from '../domain/idempotency.js';
import type { Notification } from '../../../protocol/notification.js';
import {
  batchResponseSchema,
  connectionsPageSchema,
  errorResponseSchema,
  errorSchema,
  feedPageSchema,
  notificationSchema,
  presenceSchema,
  publishResponseSchema,
  roomsPageSchema,
  statsSchema,
  type BatchResult,
  type PublishResponse,
} from '../../../protocol/responses.js';
import type { AdminDirectory } from '../realtime/admin-directory.js';
import type { AdminStats, ConnectionInfo, Page, RoomInfo } from '../../../protocol/admin.js';

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
