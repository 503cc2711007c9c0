/**
 * A typed client of Herald's REST API for tests, derived from the route table
 * (protocol/routes.ts): a route is named by its operationId, its path, method
 * and types come from there, and `ok` checks the answer against the schema the
 * route declares, so that every test that reads an answer also checks the contract.
 */
import { expect } from 'vitest';
import { pathOf, ROUTES, type ClientRequest, type OperationId, type Routes, type SuccessBody } from '../../protocol/routes.js';
import { errorResponseSchema } from '../../protocol/responses.js';
import type { ErrorBody, ErrorCode } from '../../protocol/errors.js';

/** What a request may carry, well-formed or not (for the tests of refusals). */
export interface AnyRequest {
  params?: Record<string, string>;
  query?: Record<string, unknown>;
  headers?: Record<string, string>;
  /** Sent as JSON, or as it is when a string. */
  body?: unknown;
}

/** An answer as it came: the status, the headers and the body's text. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (undefined when empty or not JSON). */
  json: unknown;
}

/**
 * `fetch` with an optional bearer token and a JSON body (a string is sent as it is).
 *
 * @example
 * await request(url, 'POST', '/api/notifications', { token, body: { to: { user: 'ann' }, title: 'Hi' } });
 */
export function request(url: string, method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  return fetch(url + path, { method, headers, body });
}

/** One item's result in the answer of `publishBatch`, as its schema reads it. */
type BatchItemResult = SuccessBody<Routes['publishBatch']>['results'][number];

/** The id of a batch result, failing the test when the item was refused. */
export function idOf(result: BatchItemResult | undefined): string {
  expect(result, 'a batch item was refused').toHaveProperty('id');
  return (result as { id: string }).id;
}

/** The error of a batch result, failing the test when the item was accepted. */
export function errorOf(result: BatchItemResult | undefined): ErrorBody {
  expect(result, 'a batch item was accepted').toHaveProperty('error');
  return (result as { error: ErrorBody }).error;
}

export class TestApi {
  constructor(
    readonly url: string,
    private readonly bearer?: string,
  ) {}

  /** The same client with `token` as its bearer. */
  as(token: string): TestApi {
    return new TestApi(this.url, token);
  }

  /** Sends one request to the route `id` and returns the answer, whatever it is. */
  async send(id: OperationId, input: AnyRequest = {}): Promise<Answer> {
    const route = ROUTES[id];
    const res = await request(this.url, route.method.toUpperCase(), pathOf(route, input.params, input.query), { ...input, ...(this.bearer ? { token: this.bearer } : {}) });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  /**
   * Calls the route `id` with a well-formed request, expects its success status
   * and returns the body, checked against the route's schema.
   *
   * @example
   * const { id } = await server.api.as(publisher).ok('publishNotification', { body: { to: { user: 'ann' }, title: 'Hi' } });
   */
  async ok<K extends OperationId>(id: K, input: ClientRequest<Routes[K]>): Promise<SuccessBody<Routes[K]>> {
    const route = ROUTES[id];
    const answer = await this.send(id, input as AnyRequest);
    expect(answer.status, `${id}: ${answer.text}`).toBe(route.ok.status);
    if (!('schema' in route.ok)) return undefined as SuccessBody<Routes[K]>;
    const parsed = route.ok.schema.safeParse(answer.json);
    expect(parsed.error, `${id}: the answer does not match the route's schema`).toBeUndefined();
    return parsed.data as SuccessBody<Routes[K]>;
  }

  /** Calls the route `id`, expects a refusal with `status` and `code`, and returns the error body. */
  async refused(id: OperationId, input: AnyRequest, status: number, code: ErrorCode) {
    const answer = await this.send(id, input);
    expect(answer.status, `${id}: ${answer.text}`).toBe(status);
    const parsed = errorResponseSchema.safeParse(answer.json);
    expect(parsed.error, `${id}: the error body does not match its schema`).toBeUndefined();
    expect(parsed.data!.error.code).toBe(code);
    return parsed.data!.error;
  }
}
