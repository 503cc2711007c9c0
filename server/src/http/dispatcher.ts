import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQueryString } from 'node:querystring';
import express, { type Express, type Request, type Response } from 'express';
import type { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { HeraldError, validated } from '../errors.js';
import {
  ACCESS_ROLES,
  allows,
  ROUTES,
  type OperationId,
  type RouteContract,
  type RouteRequest,
  type Routes,
  type Success,
} from '../../../protocol/routes.js';
import type { Authenticate } from './authenticate.js';
import type { HttpDeps } from './deps.js';
import { errorReply, retryAfterHeader } from './error-handler.js';
import { rateLimited } from './rate-limit.js';

/** A text answer: `/metrics`, the docs page. */
export interface TextBody {
  contentType: string;
  text: string;
}

type Result<R extends RouteContract> = R['ok'] extends { schema: infer S extends z.ZodType }
  ? z.input<S>
  : R['ok'] extends { contentType: string }
    ? TextBody
    : void;

/** What a handler is given: the validated request, the caller, and the request itself. */
export interface RouteContext<R extends RouteContract> extends RouteRequest<R> {
  principal: R['access'] extends 'public' ? undefined : Principal;
  /** The body's bytes as received (decompressed), for idempotency hashing; empty without one. */
  rawBody: Buffer;
  /** The path as the client sent it, without the query string. */
  path: string;
  req: IncomingMessage;
}

export type Handler<R extends RouteContract> = (context: RouteContext<R>) => Result<R> | Promise<Result<R>>;
/** One handler per route of the table: `tsc` refuses a missing or extra one. */
export type Handlers = { [K in OperationId]: Handler<Routes[K]> };

/**
 * How a request reached the dispatcher: straight from `node:http` (its query
 * string still to parse, its body to read) or through Express (`express`, whose
 * query is parsed and whose body reader inflates). Plain data: nothing is
 * allocated per request beyond it.
 */
interface Arrival {
  path: string;
  params: Record<string, string>;
  /** What follows `?` (empty without), or Express's parsed query. */
  query: string | Record<string, unknown>;
  express?: Request;
}

interface CompiledRoute {
  id: OperationId;
  contract: RouteContract;
  handler: Handler<RouteContract>;
  /** For a path with parameters: its pattern and their names. */
  pattern?: RegExp;
  names: string[];
  /** The 403 message. */
  forbidden: string;
  /** The declared request headers: their canonical names and Node's lower-cased ones. */
  headers: [canonical: string, lower: string][];
  /** Whether every declared header may be left out: then a request without any needs no validation. */
  headersOptional: boolean;
}

/** A route matched to a path, with the values of its parameters. */
interface Match {
  route: CompiledRoute;
  params: Record<string, string>;
}

const EMPTY = Buffer.alloc(0);
const NO_QUERY: Record<string, unknown> = Object.freeze({});
const NO_PARAMS: Record<string, string> = Object.freeze({});
const NO_HEADERS: Record<string, unknown> = Object.freeze({});
/** The client went away in the middle of its body: nothing to answer. */
const CLIENT_GONE = Symbol('client gone');

/**
 * Runs every route of {@link ROUTES}, one pipeline for all: limit → parse →
 * authenticate → rate-limit → authorize → validate → handle → reply.
 *
 * A request reaches it in one of two ways, which differ only in how the path is
 * matched and the body read:
 * - {@link listener}, ahead of Express on `node:http`, takes a route's exact
 *   path with an uncompressed body (and, when `CORS_ORIGINS` is set, no
 *   `Origin`): the common request of services, at a fraction of Express's cost
 *   (bench/RESULTS.md);
 * - {@link mount} registers every route in the Express app for the rest:
 *   Express's matching (any case, a trailing slash), CORS, compressed bodies.
 */
export class Dispatcher {
  /** The routes without parameters, by path, then by method (upper case): each match made once. */
  private readonly exact = new Map<string, Partial<Record<string, Match>>>();
  private readonly patterned: CompiledRoute[] = [];
  private readonly routes: CompiledRoute[] = [];
  private readonly readCompressed: express.RequestHandler;

  constructor(
    private readonly deps: HttpDeps,
    handlers: Handlers,
    private readonly authenticate: Authenticate,
  ) {
    for (const id of Object.keys(ROUTES) as OperationId[]) {
      const contract: RouteContract = ROUTES[id];
      const names: string[] = [];
      const source = contract.path.replace(/\{(\w+)\}/g, (_, name: string) => {
        names.push(name);
        return '([^/]+)';
      });
      const route: CompiledRoute = {
        id,
        contract,
        handler: handlers[id] as Handler<RouteContract>,
        names,
        headers: Object.keys(contract.headers?.shape ?? {}).map((name) => [name, name.toLowerCase()]),
        headersOptional: Object.values(contract.headers?.shape ?? {}).every((field) => field.safeParse(undefined).success),
        forbidden: contract.access === 'public' || contract.access === 'user' ? '' : `this route requires the ${ACCESS_ROLES[contract.access].join(' or ')} role`,
        ...(names.length > 0 ? { pattern: new RegExp(`^${source}$`) } : {}),
      };
      this.routes.push(route);
      if (route.pattern) this.patterned.push(route);
      else this.exact.set(contract.path, { ...this.exact.get(contract.path), [contract.method.toUpperCase()]: { route, params: NO_PARAMS } });
    }
    this.readCompressed = express.raw({ type: (req) => isJson(req.headers['content-type']), limit: deps.config.maxBodyBytes, inflate: true });
  }

  /**
   * A `node:http` request listener for the requests it takes whole.
   *
   * @returns true when it answers the request, false to leave it to the next listener.
   */
  readonly listener = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '/';
    const mark = url.indexOf('?');
    const path = mark < 0 ? url : url.slice(0, mark);
    const found = this.match(req.method ?? 'GET', path);
    if (!found || req.headers['content-encoding'] !== undefined) return false;
    if (this.deps.config.corsOrigins && req.headers.origin !== undefined) return false;
    void this.run(found.route, req, res, { path, params: found.params, query: mark < 0 ? '' : url.slice(mark + 1) });
    return true;
  };

  /** Registers every route in `app`, for what {@link listener} leaves to Express. */
  mount(app: Express): void {
    for (const route of this.routes) {
      const path = route.contract.path.replace(/\{(\w+)\}/g, ':$1');
      app[route.contract.method](path, (req: Request, res) => {
        void this.run(route, req, res, { path: req.path, params: req.params as Record<string, string>, query: req.query as Record<string, unknown>, express: req });
      });
    }
  }

  private match(method: string, path: string): Match | undefined {
    const exact = this.exact.get(path)?.[method];
    if (exact) return exact;
    for (const candidate of this.patterned) {
      if (candidate.contract.method.toUpperCase() !== method) continue;
      const values = candidate.pattern!.exec(path);
      if (!values) continue;
      const params: Record<string, string> = {};
      try {
        candidate.names.forEach((name, i) => (params[name] = decodeURIComponent(values[i + 1]!)));
      } catch {
        // Not a valid escape: Express answers it.
        return undefined;
      }
      return { route: candidate, params };
    }
    return undefined;
  }

  /** The pipeline: limit → parse → authenticate → rate-limit → authorize → validate → handle → reply. */
  private async run(route: CompiledRoute, req: IncomingMessage, res: ServerResponse, arrival: Arrival): Promise<void> {
    const { contract } = route;
    try {
      // Under overload, publishing is refused before its body is even read.
      if (contract.admission) this.deps.edge.admitPublish();
      const rawBody = contract.body ? await this.body(req, res, arrival) : undefined;
      const body = rawBody === undefined ? undefined : parseJson(rawBody, req.headers['content-type']);
      const query = typeof arrival.query !== 'string' ? arrival.query : arrival.query === '' ? NO_QUERY : parseQueryString(arrival.query);
      let principal: Principal | undefined;
      if (contract.access !== 'public') {
        if (query.token !== undefined || query.access_token !== undefined) {
          throw new HeraldError('token_invalid', 'tokens in the query string are refused; send an Authorization: Bearer header');
        }
        const known = this.authenticate(req);
        principal = known instanceof Promise ? await known : known;
        const limited = await rateLimited(this.deps, principal.userId);
        if (limited) throw limited;
        if (!allows(contract.access, principal.roles)) throw new HeraldError('forbidden', route.forbidden);
      }
      const context: RouteContext<RouteContract> = {
        params: contract.params ? validated(contract.params, arrival.params) : undefined,
        query: contract.query ? validated(contract.query, query) : undefined,
        headers: contract.headers ? headersOf(route, req) : undefined,
        body: contract.body ? validated(contract.body, body) : undefined,
        // Undefined only on the public routes, whose handlers' type says so.
        principal: principal as Principal,
        rawBody: rawBody ?? EMPTY,
        path: arrival.path,
        req,
      };
      const result = route.handler(context);
      reply(res, contract.ok, result instanceof Promise ? await result : result);
    } catch (err) {
      this.fail(req, res, arrival, err);
    }
  }

  /** The body's bytes when it is JSON, undefined when it is not JSON or absent. */
  private body(req: IncomingMessage, res: ServerResponse, arrival: Arrival): Promise<Buffer | undefined> | undefined {
    const { express: through } = arrival;
    if (!through) return isJson(req.headers['content-type']) ? readBody(req, this.deps.config.maxBodyBytes) : undefined;
    // Through Express, `res` is Express's response too.
    return new Promise((resolve, reject) => {
      this.readCompressed(through, res as Response, (err?: unknown) => (err ? reject(err) : resolve(Buffer.isBuffer(through.body) ? through.body : undefined)));
    });
  }

  private fail(req: IncomingMessage, res: ServerResponse, arrival: Arrival, err: unknown): void {
    if (err === CLIENT_GONE) {
      res.destroy();
      return;
    }
    const error = errorReply(err, this.deps.log, { method: req.method, path: arrival.path });
    const headers: Record<string, string> = error.retryAfter === undefined ? {} : { 'retry-after': retryAfterHeader(error.retryAfter) };
    send(res, error.status, JSON.stringify({ error: error.toBody() }), 'application/json; charset=utf-8', headers);
    // A body refused before it was read is read off, so that the connection can serve the next request.
    if (!req.readableEnded) req.resume();
  }
}

/** The route's declared headers, validated, by their canonical names (Node's are lower-cased). */
function headersOf(route: CompiledRoute, req: IncomingMessage): Record<string, unknown> {
  let headers: Record<string, unknown> | undefined;
  for (const [name, lower] of route.headers) {
    const value = req.headers[lower];
    if (value !== undefined) (headers ??= {})[name] = value;
  }
  if (!headers && route.headersOptional) return NO_HEADERS;
  return validated(route.contract.headers!, headers ?? {}) as Record<string, unknown>;
}

/** `application/json`, with any parameters. */
function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const end = contentType.indexOf(';');
  return (end < 0 ? contentType : contentType.slice(0, end)).trim().toLowerCase() === 'application/json';
}

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)/i;
/** JSON whitespace, then the first character of the value. */
const FIRST_CHAR = /^[ \t\n\r]*([^ \t\n\r])/;

/**
 * The body as JSON in body-parser's strict mode: an object or an array (a BOM
 * dropped); empty is `{}`. It must be UTF-8, as RFC 8259 requires between systems.
 */
function parseJson(raw: Buffer, contentType: string | undefined): unknown {
  // Parameters are rare: `application/json` alone is UTF-8.
  const charset = contentType === 'application/json' ? undefined : CHARSET.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HeraldError('malformed_json', `the request body must be UTF-8 JSON, not ${charset}`);
  }
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

/**
 * An uncompressed body, at most `limit` bytes: refused at once when its declared
 * length is over, or as soon as it grows over (the rest is read off unanswered).
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new HeraldError('payload_too_large', 'the request body is too large');
    if (Number(req.headers['content-length']) > limit) {
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      req.off('end', onEnd);
      req.resume();
      reject(tooLarge());
    };
    const onEnd = () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    req.on('data', onData);
    req.on('end', onEnd);
    // A client that goes away mid-body: nothing was done, there is no one to answer.
    req.on('error', () => reject(CLIENT_GONE));
  });
}

function reply(res: ServerResponse, ok: Success, result: unknown): void {
  if (ok.status === 204) {
    res.writeHead(204);
    res.end();
  } else if (ok.contentType) {
    const { contentType, text } = result as TextBody;
    send(res, ok.status, text, contentType);
  } else {
    send(res, ok.status, JSON.stringify(result), 'application/json; charset=utf-8');
  }
}

function send(res: ServerResponse, status: number, text: string, contentType: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
