import { request as httpRequest, type IncomingMessage } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { signToken } from '../server/src/auth/token-verifier.js';
import { eventually, nextEvent, sleep, startServer, type TestServer } from './helpers.js';
import { assertStillServing, VICTIM } from './still-serving.js';

/**
 * The two publish routes at the HTTP level: what a service can send them, byte
 * by byte, and what it gets back. They answer exactly like the rest of the API
 * (error codes, body shape, headers) whatever path inside the server serves them.
 */
describe('publish routes over HTTP', () => {
  let server: TestServer;
  afterEach(async () => {
    await server.close();
  });

  const ROUTES = ['/api/notifications', '/api/notifications/batch'] as const;
  const valid = (route: string) =>
    route.endsWith('/batch') ? { notifications: [{ to: { user: 'bob' }, title: 'hi' }] } : { to: { user: 'bob' }, title: 'hi' };

  interface RawReply {
    status: number;
    headers: IncomingMessage['headers'];
    body: string;
  }

  /**
   * One request on its own connection; `chunks` are written one by one, then the
   * request is ended, left open (`hold`: the reply comes before the body), or cut (`abort`).
   */
  function raw(route: string, opts: { headers?: Record<string, string>; chunks?: (string | Buffer)[]; then?: 'end' | 'hold' | 'abort' } = {}): Promise<RawReply> {
    const { port } = new URL(server.url);
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: route, headers: opts.headers, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.on('error', (err) => (opts.then === 'abort' ? resolve({ status: 0, headers: {}, body: '' }) : reject(err)));
      for (const chunk of opts.chunks ?? []) req.write(chunk);
      if (opts.then === 'abort') setTimeout(() => req.destroy(), 50);
      else if (opts.then === 'hold') req.flushHeaders();
      else req.end();
    });
  }
  const codeOf = (reply: RawReply) => (JSON.parse(reply.body) as { error: { code: string } }).error.code;
  const publisherToken = () => server.token('svc', { roles: ['publisher'] });

  it.each(ROUTES)('%s: refuses missing, garbage, foreign and expired tokens with the 401 code that names the problem', async (route) => {
    server = await startServer();
    const cases: [string | undefined, string][] = [
      [undefined, 'token_missing'],
      ['not-a-jwt', 'token_invalid'],
      [signToken('another-secret-of-at-least-32-characters!', { sub: 'svc', roles: ['publisher'] }), 'token_invalid'],
      [server.token('svc', { roles: ['publisher'], expiresIn: -10 }), 'token_expired'],
    ];
    for (const [token, code] of cases) {
      const res = await server.request('POST', route, { token, body: valid(route) });
      expect(res.status, code).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      const body = (await res.json()) as { error: Record<string, unknown> };
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error.code).toBe(code);
      expect(typeof body.error.message).toBe('string');
    }
  });

  it('accepts the bearer scheme in any case, as passport-jwt reads it', async () => {
    server = await startServer();
    const res = await server.request('POST', '/api/notifications', { headers: { authorization: `bearer ${publisherToken()}` }, body: valid('/api/notifications') });
    expect(res.status).toBe(202);
  });

  it('refuses a publishing token it accepted before once that token has expired', async () => {
    server = await startServer();
    // `exp` is in whole seconds: expiresIn 1 may end a millisecond after signing. With 2 it is 1-2 s away.
    const token = server.token('svc', { roles: ['publisher'], expiresIn: 2 });
    expect((await server.request('POST', '/api/notifications', { token, body: valid('/api/notifications') })).status).toBe(202);
    const { exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number };
    await sleep(exp * 1000 - Date.now() + 100);
    const res = await server.request('POST', '/api/notifications', { token, body: valid('/api/notifications') });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('token_expired');
  });

  it.each(ROUTES)('%s: refuses a valid token passed in the query string', async (route) => {
    server = await startServer();
    const res = await server.request('POST', `${route}?token=${publisherToken()}`, { body: valid(route) });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('token_invalid');
  });

  it.each(ROUTES)('%s: refuses a plain user and admin:read with 403 forbidden', async (route) => {
    server = await startServer();
    for (const roles of [[], ['admin:read']]) {
      const res = await server.request('POST', route, { token: server.token('someone', { roles }), body: valid(route) });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    }
  });

  it.each(ROUTES)('%s: answers 400 malformed_json to a JSON body that is not an object or an array', async (route) => {
    server = await startServer();
    for (const body of ['"hello"', '42', 'true', 'null', '{"to":']) {
      const res = await server.request('POST', route, { token: publisherToken(), body });
      expect(res.status, body).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('malformed_json');
    }
  });

  it.each(ROUTES)('%s: reads an empty JSON body as {} and answers 422 invalid_payload', async (route) => {
    server = await startServer();
    const reply = await raw(route, { headers: { authorization: `Bearer ${publisherToken()}`, 'content-type': 'application/json', 'content-length': '0' } });
    expect(reply.status).toBe(422);
    expect(codeOf(reply)).toBe('invalid_payload');
  });

  it('refuses a body that is not declared as JSON with 422, storing nothing', async () => {
    server = await startServer();
    const res = await server.request('POST', '/api/notifications', {
      token: publisherToken(),
      body: JSON.stringify(valid('/api/notifications')),
      headers: { 'content-type': 'text/plain' },
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_payload');
    const feed = await server.request('GET', '/api/me/notifications', { token: server.token('bob') });
    expect(((await feed.json()) as { items: unknown[] }).items).toEqual([]);
  });

  it('accepts JSON declared with charset=utf-8 and gzip-compressed JSON', async () => {
    server = await startServer();
    const token = publisherToken();
    const withCharset = await server.request('POST', '/api/notifications', {
      token,
      body: valid('/api/notifications'),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(withCharset.status).toBe(202);
    const gzipped = await raw('/api/notifications', {
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      chunks: [gzipSync(JSON.stringify(valid('/api/notifications')))],
    });
    expect(gzipped.status).toBe(202);
  });

  it('answers 413 from the declared Content-Length alone, before a body is sent', async () => {
    server = await startServer({ MAX_BODY_BYTES: '1024' });
    const { socket } = await server.connect(VICTIM);
    const reply = await raw('/api/notifications', {
      headers: { authorization: `Bearer ${publisherToken()}`, 'content-type': 'application/json', 'content-length': '5000' },
      then: 'hold',
    });
    expect(reply.status).toBe(413);
    expect(codeOf(reply)).toBe('payload_too_large');
    await assertStillServing(server, socket);
  });

  it('answers 413 to a chunked body that grows past the limit, and keeps serving', async () => {
    server = await startServer({ MAX_BODY_BYTES: '1024' });
    const { socket } = await server.connect(VICTIM);
    const reply = await raw('/api/notifications', {
      headers: { authorization: `Bearer ${publisherToken()}`, 'content-type': 'application/json' },
      chunks: ['{"to":{"user":"bob"},"title":"t","body":"', 'x'.repeat(600), 'x'.repeat(600), '"}'],
    });
    expect(reply.status).toBe(413);
    expect(codeOf(reply)).toBe('payload_too_large');
    await assertStillServing(server, socket);
  });

  it('stores nothing for a request whose client goes away mid-body, and keeps serving', async () => {
    server = await startServer();
    const { socket } = await server.connect(VICTIM);
    const bob = await server.connect('bob');
    let delivered = 0;
    bob.socket.on('notification', () => delivered++);
    await raw('/api/notifications', {
      headers: { authorization: `Bearer ${publisherToken()}`, 'content-type': 'application/json', 'content-length': '200' },
      chunks: ['{"to":{"user":"bob"},"title":"cut'],
      then: 'abort',
    });
    await assertStillServing(server, socket);
    const feed = await server.request('GET', '/api/me/notifications', { token: server.token('bob') });
    expect(((await feed.json()) as { items: unknown[] }).items).toEqual([]);
    expect(delivered).toBe(0);
  });

  it('answers many requests on one keep-alive connection, refused and accepted alike', async () => {
    server = await startServer({ MAX_BODY_BYTES: '1024' });
    const token = publisherToken();
    const bob = await server.connect('bob');
    const titles: string[] = [];
    bob.socket.on('notification', (n: { title: string }) => titles.push(n.title));
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const body = i % 3 === 1 ? { to: { user: 'bob' }, title: 'x', body: 'y'.repeat(2000) } : i % 3 === 2 ? '{"to":' : { to: { user: 'bob' }, title: `n${i}` };
      const res = await server.request('POST', '/api/notifications', { token, body });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses).toEqual([202, 413, 400, 202, 413, 400]);
    await eventually(() => expect(titles).toEqual(['n0', 'n3']));
  });

  it('serves a trailing slash like the route itself', async () => {
    server = await startServer();
    const bob = await server.connect('bob');
    const got = nextEvent<{ title: string }>(bob.socket, 'notification');
    const res = await server.request('POST', '/api/notifications/', { token: publisherToken(), body: { to: { user: 'bob' }, title: 'slash' } });
    expect(res.status).toBe(202);
    expect((await got).title).toBe('slash');
  });

  it('answers a browser on an allowed origin with CORS headers, and one on another origin without them', async () => {
    server = await startServer({ CORS_ORIGINS: 'https://app.example' });
    const token = publisherToken();
    const allowed = await server.request('POST', '/api/notifications', { token, body: valid('/api/notifications'), headers: { origin: 'https://app.example' } });
    expect(allowed.status).toBe(202);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const other = await server.request('POST', '/api/notifications', { token, body: valid('/api/notifications'), headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers 202 with a JSON content type and length', async () => {
    server = await startServer();
    const res = await server.request('POST', '/api/notifications', { token: publisherToken(), body: valid('/api/notifications') });
    expect(res.status).toBe(202);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const text = await res.text();
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(Object.keys(JSON.parse(text) as object).sort()).toEqual(['createdAt', 'id', 'streams']);
  });
});
