import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Notification } from '../protocol/notification.js';
import { collect, sleep, startServer, type TestServer } from './helpers.js';

interface ErrorBody {
  code: string;
  message: string;
  details?: { field: string; message: string }[];
}

/** A JSON object nested `levels` deep: `{}` is one level, `{"a":{}}` two. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

/**
 * Whether the details name `field`: either exactly, or (for an unknown key,
 * which has no path of its own) as the parent path with the key quoted in the message.
 */
function namesField(details: ErrorBody['details'], field: string): boolean {
  const key = field.split('.').at(-1)!;
  const parent = field.split('.').slice(0, -1).join('.');
  return (details ?? []).some((d) => d.field === field || (d.field === parent && d.message.includes(`"${key}"`)));
}

async function errorOf(res: Response): Promise<ErrorBody> {
  return ((await res.json()) as { error: ErrorBody }).error;
}

const user = { to: { user: 'bob' } };

describe('validating a publish request', () => {
  let server: TestServer;
  let publisher: string;
  beforeAll(async () => {
    server = await startServer();
    publisher = server.token('svc', { roles: ['publisher'] });
  });
  afterAll(async () => {
    await server.close();
  });

  const publish = (body: unknown) => server.request('POST', '/api/notifications', { token: publisher, body });

  it('answers 400 malformed_json to a body that is not valid JSON', async () => {
    const res = await publish('{"to": {"user": "bob"}, "title": ');
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('malformed_json');
  });

  it.each<[string, unknown, string]>([
    ['a missing title', { ...user }, 'title'],
    ['an empty title', { ...user, title: '' }, 'title'],
    ['a title of 201 characters', { ...user, title: 'x'.repeat(201) }, 'title'],
    ['a title that is not a string', { ...user, title: 42 }, 'title'],
    ['a body of 4,001 characters', { ...user, title: 't', body: 'x'.repeat(4001) }, 'body'],
    ['a type with capitals and a space', { ...user, title: 't', type: 'Order Shipped' }, 'type'],
    ['a type of 65 characters', { ...user, title: 't', type: 'a'.repeat(65) }, 'type'],
    ['an empty type', { ...user, title: 't', type: '' }, 'type'],
    ['data that is an array', { ...user, title: 't', data: [1, 2] }, 'data'],
    ['data that is a string', { ...user, title: 't', data: 'hello' }, 'data'],
    ['data that is null', { ...user, title: 't', data: null }, 'data'],
    ['data of 16,385 bytes serialized', { ...user, title: 't', data: { s: 'x'.repeat(16_377) } }, 'data'],
    ['data under 16 KiB in characters but over it in UTF-8 bytes', { ...user, title: 't', data: { s: 'é'.repeat(8200) } }, 'data'],
    ['data 33 levels deep', { ...user, title: 't', data: nested(33) }, 'data'],
    ['an unknown top-level field', { ...user, title: 't', priority: 'high' }, 'priority'],
    ['a missing target', { title: 't' }, 'to'],
    ['an unknown target field', { to: { user: 'bob', extra: 1 }, title: 't' }, 'to.extra'],
    ['two targets at once', { to: { user: 'bob', topic: 'news' }, title: 't' }, 'to'],
    ['an empty user id', { to: { user: '' }, title: 't' }, 'to.user'],
    ['a user id of 129 characters', { to: { user: 'u'.repeat(129) }, title: 't' }, 'to.user'],
    ['an empty users list', { to: { users: [] }, title: 't' }, 'to.users'],
    ['a users list of 1,001', { to: { users: Array.from({ length: 1001 }, (_, i) => `u${i}`) }, title: 't' }, 'to.users'],
    ['a topic that starts with a dot', { to: { topic: '.news' }, title: 't' }, 'to.topic'],
    ['a topic with a space', { to: { topic: 'news today' }, title: 't' }, 'to.topic'],
    ['a topic of 129 characters', { to: { topic: 't'.repeat(129) }, title: 't' }, 'to.topic'],
    ['all: false', { to: { all: false }, title: 't' }, 'to.all'],
  ])('refuses %s with 422 invalid_payload whose details name the field', async (_what, body, field) => {
    const res = await publish(body);
    expect(res.status).toBe(422);
    const error = await errorOf(res);
    expect(error.code).toBe('invalid_payload');
    expect(error.details, JSON.stringify(error.details)).toSatisfy((details: ErrorBody['details']) => namesField(details, field));
  });

  it.each<[string, Record<string, unknown>]>([
    ['a title of exactly 200 characters', { title: 'x'.repeat(200) }],
    ['a body of exactly 4,000 characters', { title: 't', body: 'x'.repeat(4000) }],
    ['a type of exactly 64 characters', { title: 't', type: 'a'.repeat(64) }],
    ['data exactly 32 levels deep', { title: 't', data: nested(32) }],
    ['data of exactly 16,384 bytes serialized', { title: 't', data: { s: 'x'.repeat(16_376) } }],
    ['an empty data object', { title: 't', data: {} }],
  ])('accepts %s and delivers it unchanged', async (_what, fields) => {
    const res = await server.request('POST', '/api/notifications', { token: publisher, body: { to: { user: 'edge' }, ...fields } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const feed = (await (await server.request('GET', '/api/me/notifications', { token: server.token('edge') })).json()) as { items: Notification[] };
    expect(feed.items.find((n) => n.id === id)).toMatchObject(fields);
  });

  it('accepts a user id of 128 characters and a topic name of 128 characters', async () => {
    const long = await publish({ to: { user: 'u'.repeat(128) }, title: 't' });
    const topic = await publish({ to: { topic: 'T'.repeat(128) }, title: 't' });
    expect([long.status, topic.status]).toEqual([202, 202]);
  });

  it('stores and delivers nothing for a refused request', async () => {
    const { socket } = await server.connect('quiet');
    const seen = collect<Notification>(socket, 'notification');
    const res = await publish({ to: { user: 'quiet' }, title: 'x'.repeat(201) });
    expect(res.status).toBe(422);
    await sleep(300);
    expect(seen).toEqual([]);
    const feed = (await (await server.request('GET', '/api/me/notifications', { token: server.token('quiet') })).json()) as { items: Notification[] };
    expect(feed.items).toEqual([]);
  });
});

describe('limiting the size of a request body', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** A JSON text of exactly `bytes` bytes, valid but for its unknown `pad` field. */
  const bodyOf = (bytes: number) => {
    const head = '{"to":{"user":"bob"},"title":"t","pad":"';
    return `${head}${'p'.repeat(bytes - head.length - 2)}"}`;
  };

  it('answers 413 payload_too_large past MAX_BODY_BYTES, and accepts a body within it', async () => {
    server = await startServer({ MAX_BODY_BYTES: '2048' });
    const token = server.token('svc', { roles: ['publisher'] });
    const big = await server.request('POST', '/api/notifications', { token, body: { to: { user: 'bob' }, title: 't', body: 'x'.repeat(2100) } });
    expect(big.status).toBe(413);
    expect((await errorOf(big)).code).toBe('payload_too_large');
    const fits = await server.request('POST', '/api/notifications', { token, body: { to: { user: 'bob' }, title: 't', body: 'x'.repeat(1900) } });
    expect(fits.status).toBe(202);
  });

  it('reads a body of exactly 64 KiB by default and refuses one byte more with 413', async () => {
    server = await startServer();
    const token = server.token('svc', { roles: ['publisher'] });
    expect(Buffer.byteLength(bodyOf(65_536))).toBe(65_536);
    // 422 (for the unknown `pad` field) shows that the body was read and parsed.
    const atLimit = await server.request('POST', '/api/notifications', { token, body: bodyOf(65_536) });
    expect(atLimit.status).toBe(422);
    expect(namesField((await errorOf(atLimit)).details, 'pad')).toBe(true);
    const over = await server.request('POST', '/api/notifications', { token, body: bodyOf(65_537) });
    expect(over.status).toBe(413);
    expect((await errorOf(over)).code).toBe('payload_too_large');
  });

  it('applies the limit to batches too', async () => {
    server = await startServer({ MAX_BODY_BYTES: '2048' });
    const token = server.token('svc', { roles: ['publisher'] });
    const notifications = Array.from({ length: 50 }, (_, i) => ({ to: { user: 'bob' }, title: `notification number ${i}` }));
    expect(JSON.stringify({ notifications }).length).toBeGreaterThan(2048);
    const res = await server.request('POST', '/api/notifications/batch', { token, body: { notifications } });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe('payload_too_large');
  });
});
