/**
 * Operational errors: each carries a stable `code` that clients act on and the
 * HTTP status it maps to. REST errors go through one Express error handler,
 * socket errors through one ack helper; anything that is not a HeraldError is a
 * programmer error and is logged as such.
 */
export type ErrorCode =
  | 'malformed_json'
  | 'token_missing'
  | 'token_invalid'
  | 'token_expired'
  | 'forbidden'
  | 'forbidden_origin'
  | 'too_many_connections'
  | 'not_found'
  | 'idempotency_conflict'
  | 'payload_too_large'
  | 'invalid_payload'
  | 'invalid_topic'
  | 'rate_limited'
  | 'unknown_event'
  | 'unavailable'
  | 'internal';

const statusOf: Record<ErrorCode, number> = {
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
};

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

export class HeraldError extends Error {
  override name = 'HeraldError';
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Seconds a client should wait, for `rate_limited`. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.status = statusOf[code];
  }

  toBody(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export const isHeraldError = (err: unknown): err is HeraldError => err instanceof HeraldError;

/** A failure to start that the operator can fix (an unreachable Redis): reported as one line. */
export class StartupError extends Error {
  override name = 'StartupError';
}
