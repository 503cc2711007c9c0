import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import * as api from '../protocol/responses.js';
import { ROUTES, type OperationId, type RouteContract } from '../protocol/routes.js';
import { startServer, type TestServer } from './helpers.js';
import { TestApi } from './kit/api.js';

/** Every operation of SPEC §4 and the AsyncAPI document, in OpenAPI path syntax. */
const SPEC_OPERATIONS = [
  'POST /api/notifications',
  'POST /api/notifications/batch',
  'GET /api/me/notifications',
  'POST /api/me/notifications/read',
  'GET /api/me/subscriptions',
  'PUT /api/me/subscriptions/{topic}',
  'DELETE /api/me/subscriptions/{topic}',
  'GET /api/users/{userId}/subscriptions',
  'PUT /api/users/{userId}/subscriptions/{topic}',
  'DELETE /api/users/{userId}/subscriptions/{topic}',
  'GET /api/presence/users/{userId}',
  'GET /api/admin/stats',
  'GET /api/admin/rooms',
  'GET /api/admin/connections',
  'DELETE /api/admin/connections/{socketId}',
  'DELETE /api/admin/users/{userId}/connections',
  'GET /api/openapi.json',
  'GET /api/asyncapi.json',
  'GET /api/docs',
  'GET /api/docs/asyncapi',
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
];
const PUBLIC_OPERATIONS = ['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /api/openapi.json', 'GET /api/asyncapi.json', 'GET /api/docs', 'GET /api/docs/asyncapi'];

interface Schema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  oneOf?: Schema[];
  items?: Schema;
  additionalProperties?: boolean;
}
interface Operation {
  operationId?: string;
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required: boolean }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { description?: string; content?: Record<string, { schema: Schema }>; headers?: Record<string, unknown> }>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, { type: string; scheme?: string }> };
}

const operationsOf = (doc: OpenApiDocument) =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, operation })));

describe('the OpenAPI document', () => {
  let server: TestServer;
  let doc: OpenApiDocument;
  const resolve = (schema: Schema): Schema => (schema.$ref ? resolve(doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')]!) : schema);
  const operation = (name: string) => operationsOf(doc).find((o) => o.name === name)!.operation;

  beforeAll(async () => {
    server = await startServer();
    const res = await server.request('GET', '/api/openapi.json');
    expect(res.status).toBe(200);
    doc = (await res.json()) as OpenApiDocument;
  });
  afterAll(async () => {
    await server.close();
  });

  it('is served without a token as OpenAPI 3.1', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
  });

  it('lists every method and path of the REST API, and no other', () => {
    expect(operationsOf(doc).map((o) => o.name).sort()).toEqual([...SPEC_OPERATIONS].sort());
  });

  it('declares the bearer scheme and requires it everywhere but health, readiness, metrics and the docs', () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const { name, operation } of operationsOf(doc)) {
      expect(operation.security, name).toEqual(PUBLIC_OPERATIONS.includes(name) ? [] : [{ bearerAuth: [] }]);
    }
  });

  it('has no reference that leads nowhere', () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of new Set(refs)) {
      expect(ref).toMatch(/^#\/components\/schemas\/\w+$/);
      expect(doc.components.schemas, ref).toHaveProperty([ref.split('/').at(-1)!]);
    }
  });

  it('describes the publish body with its four target variants, each a closed object with one key', () => {
    const body = resolve(operation('POST /api/notifications').requestBody!.content['application/json']!.schema);
    expect(body.required).toEqual(expect.arrayContaining(['title', 'to']));
    expect(Object.keys(body.properties!)).toEqual(expect.arrayContaining(['type', 'title', 'body', 'data', 'to']));
    expect(body.properties!.data).toMatchObject({ type: 'object' });
    const variants = body.properties!.to!.oneOf!.map(resolve);
    expect(variants.map((v) => v.required)).toEqual([['user'], ['users'], ['topic'], ['all']]);
    expect(variants.every((v) => v.type === 'object' && v.additionalProperties === false)).toBe(true);
  });

  it('describes a batch as up to 100 publish requests', () => {
    const body = resolve(operation('POST /api/notifications/batch').requestBody!.content['application/json']!.schema);
    expect(body.properties!.notifications).toMatchObject({ type: 'array', maxItems: 100, items: { $ref: '#/components/schemas/PublishRequest' } });
  });

  it('documents the errors a publish can answer, each with the error body, and Retry-After on 429 and 503', () => {
    for (const name of ['POST /api/notifications', 'POST /api/notifications/batch']) {
      const { responses } = operation(name);
      expect(Object.keys(responses), name).toEqual(expect.arrayContaining(['202', '401', '403', '409', '413', '422', '429', '503']));
      for (const status of ['401', '403', '409', '413', '422', '429', '503']) {
        const schema = resolve(responses[status]!.content!['application/json']!.schema);
        expect(resolve(schema.properties!.error!).required, status).toEqual(['code', 'message']);
      }
      expect(responses['429']!.headers).toHaveProperty('Retry-After');
      expect(responses['503']!.headers).toHaveProperty('Retry-After');
      expect(responses['503']!.description).toMatch(/overloaded/);
    }
  });

  it('documents the optional Idempotency-Key header on both publish routes', () => {
    for (const name of ['POST /api/notifications', 'POST /api/notifications/batch']) {
      expect(operation(name).parameters, name).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false }));
    }
  });

  it('gives query parameters plain, non-null types', () => {
    const before = operation('GET /api/me/notifications').parameters!.find((p) => p.name === 'before');
    expect(before).toMatchObject({ in: 'query', required: false, schema: { type: 'integer' } });
  });

  it('documents every route of the route table under its operationId, and the server serves each one', async () => {
    expect(operationsOf(doc)).toHaveLength(Object.keys(ROUTES).length);
    const api = new TestApi(server.url);
    for (const [id, route] of Object.entries(ROUTES) as [OperationId, RouteContract][]) {
      expect(doc.paths[route.path]?.[route.method]?.operationId, id).toBe(id);
      // Without a token, a route that needs one answers 401 (an unknown route would be 404); a public one succeeds.
      const params = Object.fromEntries([...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => [name!, 'x']));
      const answer = await api.send(id, { params, ...(route.body ? { body: {} } : {}) });
      expect(answer.status, id).toBe(route.access === 'public' ? route.ok.status : 401);
    }
  });

  it('names every operation, each name once, so that generated clients get method names', () => {
    const ids = operationsOf(doc).map((o) => o.operation.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id)), String(ids)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('passes redocly lint with its recommended rules: no error and no warning', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'herald-openapi-'));
    try {
      const file = path.join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(doc));
      const cli = createRequire(import.meta.url).resolve('@redocly/cli/bin/cli.js');
      // It exits 1 on an error, so the report is read either way.
      const { stdout } = await promisify(execFile)(process.execPath, [cli, 'lint', file, '--format=json'], { env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } }).catch(
        (err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }),
      );
      const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { totals: Record<string, number>; problems: { ruleId: string; message: string; location: { pointer: string }[] }[] };
      expect(report.problems.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`)).toEqual([]);
      expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('answers 431, as it documents for every operation, when the headers are over 16 KiB', async () => {
    for (const { name, operation } of operationsOf(doc)) expect(operation.responses, name).toHaveProperty('431');
    for (const name of ['GET /healthz', 'GET /api/docs', 'POST /api/notifications']) {
      const [method, route] = name.split(' ') as [string, string];
      const res = await fetch(`${server.url}${route}`, { method, headers: { 'x-padding': 'a'.repeat(17 * 1024) } });
      expect(res.status, name).toBe(431);
    }
  });

  it('is rendered as an HTML page at /api/docs, whose files load from there', async () => {
    const res = await server.request('GET', '/api/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('swagger-ui');
    const base = /<base href="([^"]+)">/.exec(html)?.[1];
    expect(base).toBeDefined();
    for (const file of ['./swagger-ui.css', './swagger-ui-bundle.js', './swagger-ui-init.js']) {
      const url = new URL(file, new URL(base!, `${server.url}/api/docs`));
      const asset = await fetch(url);
      expect(asset.status, url.pathname).toBe(200);
      if (file.endsWith('init.js')) expect(await asset.text()).toContain('/api/notifications/batch');
    }
  });

  it('is rendered as an HTML page at /api/docs/', async () => {
    const res = await server.request('GET', '/api/docs/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('swagger-ui');
    const init = await server.request('GET', '/api/docs/swagger-ui-init.js');
    expect(await init.text()).toContain('/api/notifications/batch');
  });
});

describe('the response schemas of the document', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server.close();
  });

  /** Fetches and checks the answer against the schema the document shows for it. */
  async function answer<S extends z.ZodType>(schema: S, status: number, method: string, route: string, opts: Parameters<TestServer['request']>[2]) {
    const res = await server.request(method, route, opts);
    expect(res.status, `${method} ${route}`).toBe(status);
    const parsed = schema.safeParse(await res.json());
    expect(parsed.error, `${method} ${route}`).toBeUndefined();
    return parsed.data;
  }

  it('accept what the server answers', async () => {
    const publisher = server.token('svc', { roles: ['publisher'] });
    const admin = server.token('root', { roles: ['admin'] });
    const ann = server.token('ann');
    await server.connect('ann');
    const to = { user: 'ann' };
    await answer(api.publishResponseSchema, 202, 'POST', '/api/notifications', { token: publisher, body: { to, title: 'Hi', data: { n: 1 } } });
    const batch = { notifications: [{ to, title: 'Two' }, { to, title: '' }] };
    await answer(api.batchResponseSchema, 202, 'POST', '/api/notifications/batch', { token: publisher, body: batch });
    const feed = await answer(api.feedPageSchema, 200, 'GET', '/api/me/notifications', { token: ann });
    expect(feed).toMatchObject({ items: [{ title: 'Two' }, { title: 'Hi', data: { n: 1 } }] });
    await answer(api.unreadCountSchema, 200, 'POST', '/api/me/notifications/read', { token: ann, body: { all: true } });
    await answer(api.subscriptionsSchema, 200, 'PUT', '/api/me/subscriptions/news', { token: ann });
    await answer(api.subscriptionsSchema, 200, 'GET', '/api/users/ann/subscriptions', { token: publisher });
    await answer(api.presenceSchema, 200, 'GET', '/api/presence/users/ann', { token: publisher });
    await answer(api.statsSchema, 200, 'GET', '/api/admin/stats', { token: admin });
    await answer(api.roomsPageSchema, 200, 'GET', '/api/admin/rooms', { token: admin });
    await answer(api.connectionsPageSchema, 200, 'GET', '/api/admin/connections?user=ann', { token: admin });
    await answer(api.disconnectedSchema, 200, 'DELETE', '/api/admin/users/ann/connections', { token: admin });
    const error = await answer(api.errorResponseSchema, 422, 'GET', '/api/me/notifications?limit=0', { token: ann });
    expect(error?.error.details?.[0]?.field).toBe('limit');
  });
});
