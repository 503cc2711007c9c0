/**
 * Operational errors: each carries a stable `code` that clients act on and the
 * HTTP status it maps to. REST errors go through one Express error handler,
 * socket errors through one ack helper; anything that is not a HeraldError is a
 * programmer error and is logged as such.
 */
import { ERROR_STATUS, type ErrorBody, type ErrorCode } from '../../protocol/errors.js';

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
    this.status = ERROR_STATUS[code];
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
