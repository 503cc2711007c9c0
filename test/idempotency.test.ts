import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Notification } from '../protocol/notification.js';
import { collect, eventually, sleep, startServer, type TestServer } from './helpers.js';

interface Published {
  id: string;
  createdAt: string;
  streams: number;
}
interface Feed {
  items: Notification[];
}

/** How long a test waits to be sure that something was NOT delivered. */
const QUIET_MS = 300;

const feedOf = async (server: TestServer, user: string) =>
  ((await (await server.request('GET', '/api/me/notifications', { token: server.token(user) })).json()) as Feed).items;

describe('Idempotency-Key', () => {
  let server: TestServer;
  let publisher: string;
  beforeEach(async () => {
    server = await startServer();
    publisher = server.token('svc', { roles: ['publisher'] });
  });
  afterEach(async () => {
    await server.close();
  });

  const publish = (body: unknown, key: string, token = publisher, route = '/api/notifications') =>
    server.request('POST', route, { token, body, headers: { 'Idempotency-Key': key } });

  it('answers a replay with the same key and body with the same response, and delivers only once', async () => {
    const { socket } = await server.connect('bob');
    const seen = collect<Notification>(socket, 'notification');
    const body = { to: { user: 'bob' }, title: 'Your order shipped', data: { orderId: 42 } };
    const first = await publish(body, 'order-42-shipped');
    const again = await publish(body, 'order-42-shipped');
    expect([first.status, again.status]).toEqual([202, 202]);
    const firstBody = (await first.json()) as Published;
    expect(await again.json()).toEqual(firstBody);
    await eventually(() => seen.length >= 1);
    await sleep(QUIET_MS);
    expect(seen.map((n) => n.id)).toEqual([firstBody.id]);
    expect((await feedOf(server, 'bob')).map((n) => n.id)).toEqual([firstBody.id]);
  });

  it('refuses the same key with another body with 409 idempotency_conflict, and delivers nothing for it', async () => {
    const { socket } = await server.connect('bob');
    const seen = collect<Notification>(socket, 'notification');
    const first = await publish({ to: { user: 'bob' }, title: 'first' }, 'key-1');
    expect(first.status).toBe(202);
    const conflict = await publish({ to: { user: 'bob' }, title: 'second' }, 'key-1');
    expect(conflict.status).toBe(409);
    const { error } = (await conflict.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('idempotency_conflict');
    expect(error.message).not.toBe('');
    await sleep(QUIET_MS);
    expect(seen.map((n) => n.title)).toEqual(['first']);
    expect((await feedOf(server, 'bob')).map((n) => n.title)).toEqual(['first']);
  });

  it('keeps keys per caller: another publisher with the same key gets a new notification', async () => {
    const { socket } = await server.connect('bob');
    const seen = collect<Notification>(socket, 'notification');
    const body = { to: { user: 'bob' }, title: 'hello' };
    const mine = (await (await publish(body, 'shared-key')).json()) as Published;
    const theirs = await publish(body, 'shared-key', server.token('other-svc', { roles: ['publisher'] }));
    expect(theirs.status).toBe(202);
    const theirsBody = (await theirs.json()) as Published;
    expect(theirsBody.id).not.toBe(mine.id);
    await eventually(() => seen.length >= 2);
    expect(seen.map((n) => n.id).sort()).toEqual([mine.id, theirsBody.id].sort());
  });

  it('gives concurrent requests with the same key one id and one delivery', async () => {
    const { socket } = await server.connect('bob');
    const seen = collect<Notification>(socket, 'notification');
    const body = { to: { user: 'bob' }, title: 'only once' };
    const responses = await Promise.all(Array.from({ length: 5 }, () => publish(body, 'race-key')));
    expect(responses.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as Published[];
    expect(new Set(bodies.map((b) => b.id)).size).toBe(1);
    await eventually(() => seen.length >= 1);
    await sleep(QUIET_MS);
    expect(seen.map((n) => n.id)).toEqual([bodies[0]!.id]);
    expect(await feedOf(server, 'bob')).toHaveLength(1);
  });

  it('does not use up a key on a request refused with 422', async () => {
    const refused = await publish({ to: { user: 'bob' } }, 'retry-after-fix');
    expect(refused.status).toBe(422);
    const fixed = await publish({ to: { user: 'bob' }, title: 'fixed' }, 'retry-after-fix');
    expect(fixed.status).toBe(202);
    expect((await feedOf(server, 'bob')).map((n) => n.title)).toEqual(['fixed']);
  });

  it('makes a batch replay answer the same results without delivering again', async () => {
    const { socket } = await server.connect('bob');
    const seen = collect<Notification>(socket, 'notification');
    const body = { notifications: [{ to: { user: 'bob' }, title: 'a' }, { title: 'invalid' }, { to: { user: 'bob' }, title: 'b' }] };
    const first = await publish(body, 'batch-key', publisher, '/api/notifications/batch');
    const again = await publish(body, 'batch-key', publisher, '/api/notifications/batch');
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(await again.json()).toEqual(await first.json());
    await eventually(() => seen.length >= 2);
    await sleep(QUIET_MS);
    expect(seen.map((n) => n.title)).toEqual(['a', 'b']);
    expect(await feedOf(server, 'bob')).toHaveLength(2);
  });
});

describe('Idempotency-Key with hostile or late requests', () => {
  let server: TestServer;
  let clock: number;
  beforeEach(async () => {
    clock = Date.now();
    server = await startServer({}, { now: () => clock });
  });
  afterEach(async () => {
    await server.close();
  });

  /** Raw JSON whose `data` holds arrays nested `levels` deep: far past the limit, yet under 64 KiB. */
  const deepItem = (levels: number) => `{"to":{"user":"bob"},"title":"t","data":{"a":${'['.repeat(levels)}${']'.repeat(levels)}}}`;
  const headers = { 'Idempotency-Key': 'deep-key' };

  it('refuses a body nested 30,000 levels deep with 422, not 500, when it carries a key', async () => {
    const token = server.token('svc', { roles: ['publisher'] });
    const res = await server.request('POST', '/api/notifications', { token, body: deepItem(30_000), headers });
    expect(res.status).toBe(422);
    const { error } = (await res.json()) as { error: { code: string; details: { field: string }[] } };
    expect(error.code).toBe('invalid_payload');
    expect(error.details.map((d) => d.field)).toContain('data');
  });

  it('answers a batch holding an item nested 30,000 levels deep with an error result, not 500, when it carries a key', async () => {
    const token = server.token('svc', { roles: ['publisher'] });
    const body = `{"notifications":[${deepItem(30_000)},{"to":{"user":"bob"},"title":"fine"}]}`;
    const res = await server.request('POST', '/api/notifications/batch', { token, body, headers });
    expect(res.status).toBe(202);
    const { results } = (await res.json()) as { results: [{ error: { code: string } }, { id: string }] };
    expect(results[0].error.code).toBe('invalid_payload');
    expect(results[1].id).toMatch(/^ntf_/);
  });

  it('keeps a key for 24 hours and forgets it after', async () => {
    const token = server.token('svc', { roles: ['publisher'] });
    const body = { to: { user: 'bob' }, title: 'daily digest' };
    const send = async () => {
      const res = await server.request('POST', '/api/notifications', { token, body, headers: { 'Idempotency-Key': 'digest' } });
      expect(res.status).toBe(202);
      return ((await res.json()) as Published).id;
    };
    const first = await send();
    clock += 24 * 3600_000 - 1000;
    expect(await send()).toBe(first);
    clock += 2000;
    const later = await send();
    expect(later).not.toBe(first);
    expect((await feedOf(server, 'bob')).map((n) => n.id)).toEqual([later, first]);
  });
});

describe('Idempotency-Key across a restart', () => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    // The last server removes the shared data folder.
    for (const [i, s] of servers.entries()) await s.close({ keepData: i < servers.length - 1 });
    servers.length = 0;
  });

  it('still answers a replay after the server restarts on the same data folder, without a second delivery', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'herald-idem-'));
    const body = { to: { user: 'bob' }, title: 'survives restarts' };
    const first = await startServer({ DATA_DIR: dataDir });
    servers.push(first);
    const headers = { 'Idempotency-Key': 'restart-key' };
    const before = await first.request('POST', '/api/notifications', { token: first.token('svc', { roles: ['publisher'] }), body, headers });
    expect(before.status).toBe(202);
    const beforeBody = (await before.json()) as Published;
    await first.close({ keepData: true });
    servers.length = 0;

    const second = await startServer({ DATA_DIR: dataDir });
    servers.push(second);
    const { socket } = await second.connect('bob');
    const seen = collect<Notification>(socket, 'notification');
    const after = await second.request('POST', '/api/notifications', { token: second.token('svc', { roles: ['publisher'] }), body, headers });
    expect(after.status).toBe(202);
    expect(await after.json()).toEqual(beforeBody);
    const conflict = await second.request('POST', '/api/notifications', {
      token: second.token('svc', { roles: ['publisher'] }),
      body: { ...body, title: 'changed' },
      headers,
    });
    expect(conflict.status).toBe(409);
    await sleep(QUIET_MS);
    expect(seen).toEqual([]);
    expect((await feedOf(second, 'bob')).map((n) => n.id)).toEqual([beforeBody.id]);
  });
});
