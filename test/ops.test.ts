import type { DestinationStream } from 'pino';
import { io as connectClient } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { signToken } from '../server/src/auth/token-verifier.js';
import { createLogger } from '../server/src/logger.js';
import { connectError, emitAck, eventually, nextEvent, startServer, type TestServer } from './helpers.js';

describe('operations endpoints', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

  it('answers /healthz and /readyz with 200 when the server is ready', async () => {
    server = await startServer();
    const health = await server.request('GET', '/healthz');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await server.request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready' });
  });

  it('serves Prometheus text with Herald’s connection, publish and event-loop metrics and the Node.js defaults', async () => {
    server = await startServer();
    const { socket } = await server.connect('alice');
    const got = nextEvent(socket, 'notification');
    const res = await server.request('POST', '/api/notifications', {
      token: server.token('svc', { roles: ['publisher'] }),
      body: { to: { user: 'alice' }, title: 'metrics please' },
    });
    expect(res.status).toBe(202);
    await got;

    const metrics = await server.request('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await metrics.text();
    expect(text).toMatch(/^herald_connections 1$/m);
    expect(text).toMatch(/^herald_users_online 1$/m);
    expect(text).toMatch(/^herald_notifications_published_total\{target="user"\} 1$/m);
    expect(text).toMatch(/^herald_notifications_delivered_total\{target="user"\} 1$/m);
    expect(text).toMatch(/^herald_publish_duration_seconds_count\{target="user"\} 1$/m);
    expect(text).toMatch(/^herald_publish_duration_seconds_bucket\{le="\+Inf",target="user"\} 1$/m);
    expect(text).toMatch(/^herald_event_loop_lag_seconds \d/m);
    expect(text).toMatch(/^nodejs_heap_size_total_bytes \d/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  });

  it('counts every notification of a batch but observes the publish duration once per request and target kind', async () => {
    server = await startServer();
    const { socket } = await server.connect('alice');
    const seen: unknown[] = [];
    socket.on('notification', (n) => seen.push(n));
    const res = await server.request('POST', '/api/notifications/batch', {
      token: server.token('svc', { roles: ['publisher'] }),
      body: {
        notifications: [
          { to: { user: 'alice' }, title: 'one' },
          { to: { user: 'bob' }, title: 'two' },
          { to: { users: ['alice', 'bob'] }, title: 'three' },
          { to: { user: 'alice' }, title: 'four' },
          { to: { topic: 'news' }, title: 'five' },
        ],
      },
    });
    expect(res.status).toBe(202);
    await eventually(() => seen.length === 3);

    const text = await (await server.request('GET', '/metrics')).text();
    expect(text).toMatch(/^herald_notifications_published_total\{target="user"\} 3$/m);
    expect(text).toMatch(/^herald_notifications_published_total\{target="users"\} 1$/m);
    expect(text).toMatch(/^herald_notifications_published_total\{target="topic"\} 1$/m);
    expect(text).toMatch(/^herald_notifications_delivered_total\{target="user"\} 2$/m);
    expect(text).toMatch(/^herald_notifications_delivered_total\{target="users"\} 1$/m);
    expect(text).toMatch(/^herald_notifications_delivered_total\{target="topic"\} 0$/m);
    expect(text).toMatch(/^herald_publish_duration_seconds_count\{target="user"\} 1$/m);
    expect(text).toMatch(/^herald_publish_duration_seconds_count\{target="users"\} 1$/m);
    expect(text).toMatch(/^herald_publish_duration_seconds_count\{target="topic"\} 1$/m);
    const stats = (await (await server.request('GET', '/api/admin/stats', { token: server.token('ops', { roles: ['admin'] }) })).json()) as {
      notifications: { published: number; delivered: number };
    };
    expect(stats.notifications).toMatchObject({ published: 5, delivered: 3 });
  });

  it('lowers the connection gauges when sockets leave', async () => {
    const running = (server = await startServer());
    const { socket } = await running.connect('alice');
    expect(await (await running.request('GET', '/metrics')).text()).toMatch(/^herald_connections 1$/m);
    const gone = nextEvent(socket, 'disconnect');
    socket.disconnect();
    await gone;
    const text = await eventually(async () => {
      const scraped = await (await running.request('GET', '/metrics')).text();
      return /^herald_connections 0$/m.test(scraped) && scraped;
    });
    expect(text).toMatch(/^herald_connections 0$/m);
    expect(text).toMatch(/^herald_users_online 0$/m);
  });

  it('requires METRICS_TOKEN as a bearer token for /metrics when it is set', async () => {
    const metricsToken = 'scrape-secret-0123456789';
    server = await startServer({ METRICS_TOKEN: metricsToken });
    const none = await server.request('GET', '/metrics');
    expect(none.status).toBe(401);
    expect((await errorCode(none)).code).toBe('token_missing');
    const wrong = await server.request('GET', '/metrics', { token: 'not-the-scrape-secret' });
    expect(wrong.status).toBe(401);
    expect((await errorCode(wrong)).code).toBe('token_invalid');
    const right = await server.request('GET', '/metrics', { token: metricsToken });
    expect(right.status).toBe(200);
    // The scheme in any case, as for every other bearer token (RFC 9110).
    const lower = await server.request('GET', '/metrics', { headers: { authorization: `bearer ${metricsToken}` } });
    expect(lower.status).toBe(200);
    // The token is the whole rest of the header: anything after it is not ignored.
    const trailing = await server.request('GET', '/metrics', { headers: { authorization: `Bearer ${metricsToken} extra` } });
    expect(trailing.status).toBe(401);
    expect(await right.text()).toContain('herald_connections');
    expect((await server.request('GET', '/healthz')).status).toBe(200);
  });

  it('answers an unknown route with 404 and a not_found error body', async () => {
    server = await startServer();
    const outside = await server.request('GET', '/no/such/route');
    expect(outside.status).toBe(404);
    expect(outside.headers.get('content-type')).toMatch(/application\/json/);
    const error = await errorCode(outside);
    expect(error.code).toBe('not_found');
    expect(typeof error.message).toBe('string');
    const api = await server.request('POST', '/api/no-such-route', { token: server.token('alice'), body: {} });
    expect(api.status).toBe(404);
    expect((await errorCode(api)).code).toBe('not_found');
  });
});

describe('logging', () => {
  it('never writes a token, a notification title or a body into a log line', async () => {
    const lines: string[] = [];
    const destination: DestinationStream = { write: (line: string) => void lines.push(line) };
    const server = await startServer({}, { logger: createLogger('debug', destination) });
    const title = 'Title-7f3a-secret-words';
    const body = 'Body-91cc-private-details';
    const publisher = server.token('svc', { roles: ['publisher'] });
    const userToken = server.token('alice');
    const refreshToken = server.token('alice', { expiresIn: 7200 });
    const forged = signToken('another-secret-that-is-at-least-32-characters', { sub: 'alice' });
    const expired = server.token('alice', { expiresIn: -10 });
    try {
      // Authentication failures over REST and over the socket.
      expect((await server.request('GET', '/api/me/notifications', { token: forged })).status).toBe(401);
      expect((await server.request('GET', '/api/me/notifications', { token: expired })).status).toBe(401);
      expect((await server.request('GET', `/api/me/notifications?token=${userToken}`)).status).toBe(401);
      const refused = connectClient(server.url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: forged } });
      try {
        expect((await connectError(refused)).message).toBe('unauthorized');
      } finally {
        refused.close();
      }

      // A connect, a publish with a title and a body, a token refresh and a malformed body.
      const { socket } = await server.connect('alice', { token: userToken });
      const got = nextEvent<{ title: string }>(socket, 'notification');
      const res = await server.request('POST', '/api/notifications', {
        token: publisher,
        body: { to: { user: 'alice' }, title, body, data: { note: body } },
      });
      expect(res.status).toBe(202);
      expect((await got).title).toBe(title);
      expect(await emitAck<{ ok: boolean }>(socket, 'auth:refresh', { token: refreshToken })).toMatchObject({ ok: true });
      expect((await server.request('POST', '/api/notifications', { token: publisher, body: `{"title": "${title}", ` })).status).toBe(400);
    } finally {
      await server.close();
    }

    // The capture works: closing is logged.
    expect(lines.some((line) => line.includes('"closed"'))).toBe(true);
    const secrets = [publisher, userToken, refreshToken, forged, expired, title, body];
    for (const line of lines) {
      for (const secret of secrets) expect(line).not.toContain(secret);
      // No JWT of any kind: every token starts with the encoded header '{"'.
      expect(line).not.toMatch(/eyJ[\w-]+\.eyJ/);
    }
  });
});
