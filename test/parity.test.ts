/**
 * The publish matrix through every way a request can reach the dispatcher: the
 * `node:http` fast path (a route's exact path, plain JSON, no Origin) and
 * Express (a trailing slash, a gzip body, a cross-origin request with
 * CORS_ORIGINS set). Each way must give the same answer, the same deliveries
 * and the same refusals, since both run one pipeline (server/src/http/dispatcher.ts).
 */
import { gzipSync } from 'node:zlib';
import { publishResponseSchema, batchResponseSchema, errorResponseSchema } from '../protocol/responses.js';
import type { Notification } from '../protocol/notification.js';
import type { Target } from '../protocol/requests.js';
import { collect, emitAck, eventually, type TestClient, type TestServer } from './helpers.js';
import { describe, expect, test } from './kit/fixtures.js';

const ORIGIN = 'https://app.example';

interface Transport {
  name: string;
  /** The request as this way sends it; `path` is the route's own. */
  request(url: string, path: string, body: string, headers: Record<string, string>): Promise<Response>;
  /** What the answer shows of the way it took. */
  check?(res: Response): void;
}

const post = (url: string, body: string | Buffer, headers: Record<string, string>) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

const TRANSPORTS: Transport[] = [
  { name: 'the fast path', request: (url, path, body, headers) => post(url + path, body, headers) },
  { name: 'Express, with a trailing slash', request: (url, path, body, headers) => post(`${url}${path}/`, body, headers) },
  {
    name: 'Express, with a gzip body',
    request: (url, path, body, headers) => post(url + path, gzipSync(body), { ...headers, 'content-encoding': 'gzip' }),
  },
  {
    name: 'Express, cross-origin',
    request: (url, path, body, headers) => post(url + path, body, { ...headers, origin: ORIGIN }),
    check: (res) => expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN),
  },
];

/** Who must receive each target: ann and bob by name, cat through the topic, dan only from a broadcast. */
const TARGETS: { to: Target; recipients: string[] }[] = [
  { to: { user: 'ann' }, recipients: ['ann'] },
  { to: { users: ['ann', 'bob'] }, recipients: ['ann', 'bob'] },
  { to: { topic: 'parity' }, recipients: ['cat'] },
  { to: { all: true }, recipients: ['ann', 'bob', 'cat', 'dan'] },
];
const USERS = ['ann', 'bob', 'cat', 'dan'];

describe.each(TRANSPORTS)('publishing through $name', (transport) => {
  test.override('heraldEnv', { CORS_ORIGINS: ORIGIN });

  /** The four users' sockets (cat subscribed to the topic) and what each received. */
  async function recipients(herald: TestServer) {
    const received = new Map<string, Notification[]>();
    const sockets = new Map<string, TestClient>();
    for (const user of USERS) {
      const { socket } = await herald.connect(user);
      sockets.set(user, socket);
      received.set(user, collect<Notification>(socket, 'notification'));
    }
    expect(await emitAck(sockets.get('cat')!, 'subscribe', { topic: 'parity' })).toMatchObject({ ok: true });
    return received;
  }

  const publisher = (herald: TestServer) => ({
    authorization: `Bearer ${herald.token('svc', { roles: ['publisher'] })}`,
  });

  test.for(TARGETS)('one notification to $to reaches exactly its recipients', async ({ to, recipients: expected }, { herald }) => {
    const received = await recipients(herald);
    const res = await transport.request(herald.url, '/api/notifications', JSON.stringify({ to, title: 'parity', data: { via: transport.name } }), publisher(herald));
    expect(res.status).toBe(202);
    transport.check?.(res);
    const { id } = publishResponseSchema.parse(await res.json());
    await eventually(() => expected.every((user) => received.get(user)!.some((n) => n.id === id)));
    for (const user of USERS) {
      const got = received.get(user)!.filter((n) => n.id === id);
      expect(got, user).toHaveLength(expected.includes(user) ? 1 : 0);
    }
    expect(received.get(expected[0]!)!.find((n) => n.id === id)).toMatchObject({ title: 'parity', data: { via: transport.name } });
  });

  test('a batch of every target kind, with one invalid item, delivers the valid ones and names the invalid one', async ({ herald }) => {
    const received = await recipients(herald);
    const notifications = [...TARGETS.map(({ to }) => ({ to, title: `batch to ${Object.keys(to)[0]}` })), { to: { user: 'ann' } }];
    const res = await transport.request(herald.url, '/api/notifications/batch', JSON.stringify({ notifications }), publisher(herald));
    expect(res.status).toBe(202);
    transport.check?.(res);
    const { results } = batchResponseSchema.parse(await res.json());
    expect(results).toHaveLength(5);
    expect(results[4]).toMatchObject({ error: { code: 'invalid_payload', details: [{ field: 'notifications.4.title' }] } });
    const ids = results.slice(0, 4).map((r) => ('id' in r ? r.id : undefined));
    expect(ids.every(Boolean)).toBe(true);
    await eventually(() => TARGETS.every(({ recipients: users }, i) => users.every((user) => received.get(user)!.some((n) => n.id === ids[i]))));
    for (const [i, { recipients: expected }] of TARGETS.entries()) {
      for (const user of USERS) expect(received.get(user)!.filter((n) => n.id === ids[i]), `${user}, item ${i}`).toHaveLength(expected.includes(user) ? 1 : 0);
    }
  });

  test('a repeated Idempotency-Key answers the first response and delivers once; another body gets 409', async ({ herald }) => {
    const received = await recipients(herald);
    const headers = { ...publisher(herald), 'idempotency-key': 'parity-key-1' };
    const body = JSON.stringify({ to: { user: 'ann' }, title: 'once' });
    const first = await transport.request(herald.url, '/api/notifications', body, headers);
    const again = await transport.request(herald.url, '/api/notifications', body, headers);
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    const answer = await first.json();
    expect(await again.json()).toEqual(answer);
    const other = await transport.request(herald.url, '/api/notifications', JSON.stringify({ to: { user: 'ann' }, title: 'other' }), headers);
    expect(other.status).toBe(409);
    expect(errorResponseSchema.parse(await other.json()).error.code).toBe('idempotency_conflict');
    await eventually(() => received.get('ann')!.length > 0);
    expect(received.get('ann')!.filter((n) => n.title === 'once')).toHaveLength(1);
  });

  test('refusals carry the same status and code', async ({ herald }) => {
    const user = herald.token('ann', {});
    const cases: [string, string, Record<string, string>, number, string][] = [
      ['no token', JSON.stringify({ to: { user: 'ann' }, title: 'x' }), {}, 401, 'token_missing'],
      ['a user without the publisher role', JSON.stringify({ to: { user: 'ann' }, title: 'x' }), { authorization: `Bearer ${user}` }, 403, 'forbidden'],
      ['malformed JSON', '{"to":', publisher(herald), 400, 'malformed_json'],
      ['a missing title', JSON.stringify({ to: { user: 'ann' } }), publisher(herald), 422, 'invalid_payload'],
      ['two targets', JSON.stringify({ to: { user: 'ann', all: true }, title: 'x' }), publisher(herald), 422, 'invalid_payload'],
      ['a body over the limit', JSON.stringify({ to: { user: 'ann' }, title: 'x', data: { pad: 'a'.repeat(herald.config.maxBodyBytes) } }), publisher(herald), 413, 'payload_too_large'],
    ];
    for (const [what, body, headers, status, code] of cases) {
      const res = await transport.request(herald.url, '/api/notifications', body, headers);
      expect(res.status, what).toBe(status);
      expect(errorResponseSchema.parse(await res.json()).error.code, what).toBe(code);
    }
    // Nothing refused reached the feed.
    const feed = await herald.api.as(user).ok('getMyFeed', {});
    expect(feed.items).toEqual([]);
  });
});
