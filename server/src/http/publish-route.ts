import type { IncomingMessage, ServerResponse } from 'node:http';
import { canPublish } from '../auth/principal.js';
import { bearerToken } from '../auth/token-verifier.js';
import { HeraldError } from '../errors.js';
import type { Reply } from '../domain/notification-service.js';
import { rateLimited } from './rate-limit.js';
import type { HttpDeps } from './deps.js';
import { errorReply, retryAfterHeader } from './error-handler.js';

const SINGLE = '/api/notifications';
const BATCH = '/api/notifications/batch';

/**
 * `POST /api/notifications` and `POST /api/notifications/batch` answered on
 * `node:http`, ahead of Express: the two routes services call thousands of
 * times a second. Express's router, body-parser and passport cost about four
 * times the work of publishing itself (bench/RESULTS.md), so the common request
 * — exact path, no query string, plain JSON, no `Origin` — is read here with
 * the same limit, verifier, token cache, rate limiter, role check, error codes
 * and body shapes as the Express stack. Anything else (a query string, a
 * trailing slash, compressed or non-JSON bodies, browsers and their CORS) goes
 * on to Express, which serves the same routes.
 *
 * @returns a request listener that answers the request and returns true, or
 *   returns false and leaves the request to the next listener.
 */
export function publishRoute(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const limit = deps.config.maxBodyBytes;

  const publish = async (req: IncomingMessage, raw: Buffer): Promise<Reply> => {
    const body = parseJson(raw);
    const principal = deps.tokens.verify(bearerToken(req.headers.authorization));
    const limited = await rateLimited(deps, principal.userId);
    if (limited) throw limited;
    if (!canPublish(principal)) throw new HeraldError('forbidden', 'this route requires the publisher or admin role');
    const idempotency = { key: req.headers['idempotency-key'] as string | undefined, rawBody: raw };
    return req.url === BATCH
      ? deps.notifications.publishBatch(principal.userId, body, idempotency)
      : deps.notifications.publish(principal.userId, body, idempotency);
  };

  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown) => {
    const error = errorReply(err, deps.log, { method: req.method, path: req.url });
    const headers = error.retryAfter === undefined ? undefined : { 'retry-after': retryAfterHeader(error.retryAfter) };
    send(res, error.status, { error: error.toBody() }, headers);
  };

  return (req, res) => {
    if (req.method !== 'POST' || (req.url !== SINGLE && req.url !== BATCH) || !isPlainJson(req)) return false;
    let refused: unknown;
    try {
      // Under overload, refused before the body is even read.
      deps.edge.admitPublish();
      if (Number(req.headers['content-length']) > limit) refused = new HeraldError('payload_too_large', 'the request body is too large');
    } catch (err) {
      refused = err;
    }
    if (refused) {
      fail(req, res, refused);
      req.resume();
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      // Answer at once and discard the rest, as the declared-length case does.
      req.off('data', onData);
      req.resume();
      fail(req, res, new HeraldError('payload_too_large', 'the request body is too large'));
    };
    req.on('data', onData);
    req.on('end', () => {
      if (size > limit) return;
      publish(req, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).then(
        (reply) => send(res, reply.status, reply.body),
        (err: unknown) => fail(req, res, err),
      );
    });
    // A client that goes away mid-body: nothing was published, there is no one to answer.
    req.on('error', () => res.destroy());
    return true;
  };
}

/** A request body-parser would read as JSON: `application/json`, UTF-8, not compressed, not from a browser. */
function isPlainJson(req: IncomingMessage): boolean {
  const { headers } = req;
  if (headers.origin !== undefined || headers['content-encoding'] !== undefined) return false;
  const type = headers['content-type']?.toLowerCase().replace(/\s+/g, '');
  return type === 'application/json' || type === 'application/json;charset=utf-8';
}

/** JSON whitespace, then the first character of the value. */
const FIRST_CHAR = /^[ \t\n\r]*([^ \t\n\r])/;

/** The body as body-parser's strict mode reads it: an object or an array (BOM dropped); empty is `{}`. */
function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return {};
  const text = raw.toString('utf8').replace(/^\uFEFF/, '');
  const first = FIRST_CHAR.exec(text)?.[1];
  if (first === '{' || first === '[') {
    try {
      return JSON.parse(text);
    } catch {
      // Answered below.
    }
  }
  throw new HeraldError('malformed_json', 'the request body is not valid JSON');
}

function send(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
