/**
 * The error codes clients act on, each with the HTTP status a REST call answers
 * it with (a socket gets the same code in its ack or `connect_error`). The body
 * of every REST error is `{"error": ErrorBody}`.
 */
export const ERROR_STATUS = {
  malformed_json: 400,
  token_missing: 401,
  token_invalid: 401,
  token_expired: 401,
  forbidden: 403,
  forbidden_origin: 403,
  too_many_connections: 403,
  not_found: 404,
  idempotency_conflict: 409,
  payload_too_large: 413,
  invalid_payload: 422,
  invalid_topic: 422,
  rate_limited: 429,
  unknown_event: 400,
  unavailable: 503,
  internal: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The codes a REST call can answer with; the others belong to sockets (handshakes and events). */
export const REST_ERROR_CODES = [
  'malformed_json',
  'token_missing',
  'token_invalid',
  'token_expired',
  'forbidden',
  'not_found',
  'idempotency_conflict',
  'payload_too_large',
  'invalid_payload',
  'invalid_topic',
  'rate_limited',
  'unavailable',
  'internal',
] as const satisfies readonly ErrorCode[];

/** One violation of a schema, naming its field (`to.user`, `notifications.3.title`). */
export interface FieldIssue {
  field: string;
  message: string;
}

export interface ErrorBody<C extends ErrorCode = ErrorCode> {
  code: C;
  /** For people, not programs. */
  message: string;
  /** For `invalid_payload`: each violation, naming its field. */
  details?: FieldIssue[];
}
