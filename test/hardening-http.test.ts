import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startServer, type TestClient, type TestServer } from './helpers.js';
import { assertStillServing, notificationTitled, VICTIM } from './still-serving.js';

/**
 * Bad input over REST gets a clear 4xx and harms nobody: after every attack the
 * server still answers and a well-behaved, already-connected user still
 * receives what is published to them.
 */

interface ErrorReply {
  error: { code: string; message: string; details?: { field: string; message: string }[] };
}

function expectNoPollution(): void {
  expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

describe('hardening of the REST API against bad input', () => {
  let server: TestServer;
  let victim: TestClient;
  let publisher: string;

  beforeEach(async () => {
    server = await startServer();
    victim = (await server.connect(VICTIM)).socket;
    publisher = server.token('svc', { roles: ['publisher'] });
  });
  afterEach(async () => {
    await server.close();
    delete (Object.prototype as Record<string, unknown>).polluted;
  });

  const post = (route: string, body: string | Uint8Array, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(server.url + route, { method: 'POST', body, headers: { authorization: `Bearer ${publisher}`, ...headers } });

  it.each([
    ['__proto__', `{"__proto__":{"polluted":true},"to":{"user":"${VICTIM}"},"title":"proto at the top"}`],
    ['constructor', `{"constructor":{"prototype":{"polluted":true}},"to":{"user":"${VICTIM}"},"title":"constructor at the top"}`],
  ])('refuses a %s key at the top of a publish body with a 422 naming it, and pollutes no prototype', async (key, raw) => {
    const res = await post('/api/notifications', raw);
    expect(res.status).toBe(422);
    const body = (await res.json()) as ErrorReply;
    expect(body.error.code).toBe('invalid_payload');
    expect(JSON.stringify(body.error)).toContain(key);
    expectNoPollution();
    await assertStillServing(server, victim);
  });

  it('refuses prototype keys inside a batch item without polluting any prototype', async () => {
    const raw = `{"notifications":[{"__proto__":{"polluted":true},"to":{"user":"${VICTIM}"},"title":"a"},{"constructor":{"prototype":{"polluted":true}},"to":{"user":"${VICTIM}"},"title":"b"}]}`;
    const res = await post('/api/notifications/batch', raw);
    expect(res.status).toBe(202);
    const { results } = (await res.json()) as { results: { id?: string; error?: { code: string; message: string } }[] };
    expect(results).toHaveLength(2);
    expect(results[0]?.error?.code).toBe('invalid_payload');
    expect(results[0]?.error?.message).toContain('__proto__');
    expect(results[1]?.error?.message).toContain('constructor');
    expectNoPollution();
    await assertStillServing(server, victim);
  });

  it('delivers __proto__ and constructor keys inside data as plain keys, live and from the stored feed', async () => {
    const title = 'data with prototype keys';
    const live = notificationTitled<{ data: Record<string, unknown> }>(victim, title);
    const raw = `{"to":{"user":"${VICTIM}"},"title":"${title}","data":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}`;
    const res = await post('/api/notifications', raw);
    expect(res.status).toBe(202);
    const { data } = await live;
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    expect(Object.keys(data).sort()).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(data, '__proto__')?.value).toEqual({ polluted: true });
    const feed = await server.request('GET', '/api/me/notifications', { token: server.token(VICTIM) });
    const text = await feed.text();
    expect(feed.status).toBe(200);
    expect(text).toContain('"__proto__":{"polluted":true}');
    expectNoPollution();
    await assertStillServing(server, victim);
  });

  it('answers a query string of 10,000 parameters with a normal status, not a crash', async () => {
    const query = Array.from({ length: 10_000 }, (_, i) => `p${i}=1`).join('&');
    const res = await server.request('GET', `/api/me/notifications?${query}`, { token: server.token('reader') });
    expect([200, 400, 414, 422, 431]).toContain(res.status);
    await assertStillServing(server, victim);
  });

  it('answers a limit parameter repeated 1,000 times with a 422 naming limit', async () => {
    const query = Array.from({ length: 1000 }, () => 'limit=1').join('&');
    const res = await server.request('GET', `/api/me/notifications?${query}`, { token: server.token('reader') });
    expect(res.status).toBe(422);
    const body = (await res.json()) as ErrorReply;
    expect(body.error.code).toBe('invalid_payload');
    expect(body.error.message).toContain('limit');
    await assertStillServing(server, victim);
  });

  it('answers a 100 KB Authorization header with 431 or another 4xx', async () => {
    const res = await server.request('GET', '/api/me/notifications', { headers: { authorization: `Bearer ${'a'.repeat(100_000)}` } });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    await assertStillServing(server, victim);
  });

  it('answers a body nested 10,000 levels deep with a 4xx and a code', async () => {
    const res = await post('/api/notifications', '['.repeat(10_000) + ']'.repeat(10_000));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(((await res.json()) as ErrorReply).error.code).toMatch(/^(malformed_json|invalid_payload)$/);
    await assertStillServing(server, victim);
  });

  it('refuses data nested 10,000 levels deep with a 422 naming data', async () => {
    const data = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    const res = await post('/api/notifications', `{"to":{"user":"${VICTIM}"},"title":"deep","data":${data}}`);
    expect(res.status).toBe(422);
    const body = (await res.json()) as ErrorReply;
    expect(body.error.message).toMatch(/^data: /);
    expect(body.error.details?.[0]?.field).toBe('data');
    await assertStillServing(server, victim);
  });

  it('refuses a users array one over the limit with a 422 naming to.users', async () => {
    const users = Array.from({ length: 1001 }, (_, i) => `u${i}`);
    const res = await server.request('POST', '/api/notifications', { token: publisher, body: { to: { users }, title: 'too many' } });
    expect(res.status).toBe(422);
    const body = (await res.json()) as ErrorReply;
    expect(body.error.code).toBe('invalid_payload');
    expect(body.error.details?.map((d) => d.field)).toContain('to.users');
    await assertStillServing(server, victim);
  });

  it('refuses a users array of 100,000 entries with 413 payload_too_large', async () => {
    const users = Array.from({ length: 100_000 }, (_, i) => `user-${i}`);
    const res = await server.request('POST', '/api/notifications', { token: publisher, body: { to: { users }, title: 'huge' } });
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorReply).error.code).toBe('payload_too_large');
    await assertStillServing(server, victim);
  });

  it('answers truncated JSON with 400 malformed_json', async () => {
    const res = await post('/api/notifications', `{"to":{"user":"${VICTIM}"},"title":"cut`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorReply).error.code).toBe('malformed_json');
    await assertStillServing(server, victim);
  });

  it.each([['text/plain'], ['application/x-www-form-urlencoded'], ['application/json; charset=latin1']])(
    'refuses a publish sent as %s with a coded 4xx and publishes nothing',
    async (contentType) => {
      const title = `wrong content type ${contentType}`;
      const res = await post('/api/notifications', JSON.stringify({ to: { user: VICTIM }, title }), { 'content-type': contentType });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(typeof ((await res.json()) as ErrorReply).error.code).toBe('string');
      const feed = await server.request('GET', '/api/me/notifications', { token: server.token(VICTIM) });
      expect(await feed.text()).not.toContain(title);
      await assertStillServing(server, victim);
    },
  );

  it('answers invalid UTF-8 in the body with a 4xx or stores well-formed text only', async () => {
    const head = Buffer.from(`{"to":{"user":"${VICTIM}"},"title":"bad `);
    const raw = Buffer.concat([head, Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('"}')]);
    const res = await post('/api/notifications', raw);
    expect([202, 400, 422]).toContain(res.status);
    if (res.status !== 202) {
      expect(typeof ((await res.json()) as ErrorReply).error.code).toBe('string');
    } else {
      const feed = await server.request('GET', '/api/me/notifications', { token: server.token(VICTIM) });
      const { items } = (await feed.json()) as { items: { title: string }[] };
      const stored = items.find((n) => n.title.startsWith('bad '));
      // Lone surrogates would make the text unencodable for clients; U+FFFD replacements are fine.
      expect(stored?.title).toMatch(/^bad [^\ud800-\udfff]+$/);
    }
    await assertStillServing(server, victim);
  });
});
