import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { HeraldError, isHeraldError } from '../errors.js';

interface BodyParserError extends Error {
  type?: string;
  status?: number;
}

/** Turns what body-parser and the routes throw into one coded error. */
function toHeraldError(err: unknown): HeraldError | undefined {
  if (isHeraldError(err)) return err;
  const parserError = err as BodyParserError;
  if (parserError?.type === 'entity.too.large') return new HeraldError('payload_too_large', 'the request body is too large');
  if (parserError?.type === 'entity.parse.failed') return new HeraldError('malformed_json', 'the request body is not valid JSON');
  if (typeof parserError?.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
    return new HeraldError('malformed_json', `the request body could not be read: ${parserError.message}`);
  }
  return undefined;
}

/**
 * The error a request is answered with: a coded error as it is, anything else
 * logged as a programmer error and answered `500 internal`.
 */
export function errorReply(err: unknown, log: Logger, request: { method?: string; path?: string }): HeraldError {
  const known = toHeraldError(err);
  if (!known) log.error({ err, ...request }, 'request failed');
  return known ?? new HeraldError('internal', 'internal error');
}

/** `Retry-After` in whole seconds, at least 1. */
export const retryAfterHeader = (seconds: number) => String(Math.max(1, Math.ceil(seconds)));

/** The one Express error handler: `{"error":{"code","message","details?"}}`. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const error = errorReply(err, log, { method: req.method, path: req.path });
    if (error.retryAfter !== undefined) res.setHeader('Retry-After', retryAfterHeader(error.retryAfter));
    res.status(error.status).json({ error: error.toBody() });
  };
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new HeraldError('not_found', `no route ${req.method} ${req.path}`));
};
