/**
 * Operational errors: each carries a stable `code` that clients act on and the
 * HTTP status it maps to. REST errors go through one Express error handler,
 * socket errors through one ack helper; anything that is not a HeraldError is a
 * programmer error and is logged as such.
 */
import type { z } from 'zod';
import { ERROR_STATUS, type ErrorBody, type ErrorCode, type FieldIssue } from '../../protocol/errors.js';

export class HeraldError<C extends ErrorCode = ErrorCode> extends Error {
  override name = 'HeraldError';
  readonly status: number;

  constructor(
    readonly code: C,
    message: string,
    readonly details?: FieldIssue[],
    /** Seconds a client should wait, for `rate_limited`. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }

  toBody(): ErrorBody<C> {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export const isHeraldError = (err: unknown): err is HeraldError => err instanceof HeraldError;

/**
 * The issues to report for a zod failure. A union reports one `invalid_union`
 * issue at its own path; look inside at the branch the input was meant for (the
 * one without unknown or missing keys) so that the field is named.
 */
function flatIssues(issues: readonly z.core.$ZodIssue[], base: PropertyKey[] = []): { path: PropertyKey[]; message: string }[] {
  return issues.flatMap((issue) => {
    const path = [...base, ...issue.path];
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [{ path, message: issue.message }];
    const structural = (branch: readonly z.core.$ZodIssue[]) =>
      branch.some((i) => i.code === 'unrecognized_keys' || (i.code === 'invalid_type' && i.input === undefined));
    const branch = issue.errors.find((b) => !structural(b)) ?? issue.errors[0]!;
    return flatIssues(branch, path);
  });
}

/** Turns a zod failure into a 422 whose message and details name the field. */
export function invalidPayload(error: z.ZodError, prefix = ''): HeraldError<'invalid_payload'> {
  const details = flatIssues(error.issues).map((issue) => ({ field: prefix + issue.path.map(String).join('.'), message: issue.message }));
  const first = details[0]!;
  return new HeraldError('invalid_payload', `${first.field || 'body'}: ${first.message}`, details);
}

/** Validates with a zod schema; a failure is a 422 `invalid_payload` that names the field. */
export function validated<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidPayload(parsed.error);
  return parsed.data;
}

/** A failure to start that the operator can fix (an unreachable Redis): reported as one line. */
export class StartupError extends Error {
  override name = 'StartupError';
}
