import { Fetch, type Socket as LooseSocket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { emitAck, eventually, nextEvent, sleep, startServer, type TestClient, type TestServer } from './helpers.js';
import { assertStillServing, VICTIM } from './still-serving.js';

/**
 * Bad packets, floods and refused connections end in an error ack, a refusal or
 * a disconnect of the offending socket only: after every attack the server
 * still answers and a well-behaved, already-connected user still receives.
 */


type AckReply = { ok: true } | { ok: false; error: { code: string; message: string } };


/** A socket.io-client without the typed event map, to emit what a typed client cannot. */
const loose = (socket: TestClient) => socket as unknown as LooseSocket;

describe('hardening of the Socket.IO namespace against bad input', () => {
  let server: TestServer | undefined;
  let victim: TestClient;
  const raws = new Set<WebSocket>();

  async function setup(env: Record<string, string> = {}): Promise<TestServer> {
    server = await startServer(env);
    victim = (await server.connect(VICTIM)).socket;
    return server;
  }

  afterEach(async () => {
    for (const ws of raws) ws.terminate();
    raws.clear();
    await server?.close();
    server = undefined;
  });

  /** A raw WebSocket speaking Engine.IO 4 / Socket.IO 5 by hand, connected and `ready`. */
  async function rawConnect(s: TestServer, sub: string) {
    const ws = new WebSocket(`${s.url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
    raws.add(ws);
    const frames: string[] = [];
    let closed = false;
    ws.on('close', () => (closed = true));
    ws.on('error', () => undefined); // a reset is one of the outcomes under test
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? '<binary>' : String(data);
      if (text === '2') ws.send('3'); // answer the server's heartbeat
      frames.push(text);
    });
    await eventually(() => frames.some((f) => f.startsWith('0{')));
    ws.send(`40${JSON.stringify({ token: s.token(sub) })}`);
    await eventually(() => frames.some((f) => f.startsWith('42["ready"')));
    return { ws, frames, isClosed: () => closed };
  }

  const garbage: [string, string | Buffer, 'disconnect' | 'unknown_event'][] = [
    ['an unterminated array', '42[', 'disconnect'],
    ['an object instead of an array', '42{"a":1}', 'disconnect'],
    ['an ack id of 22 digits', '4299999999999999999999[]', 'disconnect'],
    ['a client-side ping probe', '2probe', 'disconnect'],
    ['an unknown packet type', '4x', 'disconnect'],
    ['a reserved event name', '42["disconnect"]', 'disconnect'],
    ['binary junk', Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x42]), 'disconnect'],
    ['a numeric event name', '421[123]', 'unknown_event'],
    ['__proto__ as the event name', '422["__proto__",{"polluted":true}]', 'unknown_event'],
    ['error as the event name', '423["error",{"message":"boom"}]', 'unknown_event'],
  ];

  it.each(garbage)('answers a raw packet with %s by an error ack or a disconnect of that socket only', async (_what, packet, expected) => {
    const s = await setup();
    const raw = await rawConnect(s, 'attacker');
    raw.ws.send(packet);
    if (expected === 'disconnect') {
      await eventually(() => raw.isClosed(), 2000);
    } else {
      const id = String(packet).slice(2, 3);
      const ack = await eventually(() => raw.frames.find((f) => f.startsWith(`43${id}[`)), 2000) ?? '';
      expect(JSON.parse(ack.slice(3))).toMatchObject([{ ok: false, error: { code: 'unknown_event' } }]);
      // The rejected event costs that socket nothing: a valid request still works.
      raw.ws.send('427["sync",{"afterSeq":0}]');
      const next = await eventually(() => raw.frames.find((f) => f.startsWith('437[')), 2000) ?? '';
      expect(JSON.parse(next.slice(3))).toMatchObject([{ ok: true, items: [] }]);
    }
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    await assertStillServing(s, victim);
  });

  it('acknowledges an unknown event with unknown_event', async () => {
    const s = await setup();
    const { socket } = await s.connect('curious');
    const reply = await emitAck<AckReply>(loose(socket), 'no-such-event', { x: 1 });
    expect(reply).toMatchObject({ ok: false, error: { code: 'unknown_event' } });
    expect(socket.connected).toBe(true);
    await assertStillServing(s, victim);
  });

  it('disconnects a socket that keeps sending rejected events, after 100 of them, and only that socket', async () => {
    const s = await setup();
    const { socket } = await s.connect('pest');
    const replies: string[] = [];
    const gone = nextEvent<string>(socket, 'disconnect', 3000);
    // Rejected as unknown while the bucket lasts (burst 40), then as rate-limited: each one a strike.
    for (let i = 0; i < 101; i++) loose(socket).emit('no-such-event', i, (reply: AckReply) => replies.push(reply.ok ? 'ok' : reply.error.code));
    expect(await gone).toBe('io server disconnect');
    expect(replies.slice(0, 40)).toEqual(Array(40).fill('unknown_event'));
    expect(new Set(replies.slice(40))).toEqual(new Set(['rate_limited']));
    expect(replies).toHaveLength(101);
    await assertStillServing(s, victim);
  });

  it('disconnects a socket that sends a payload beyond MAX_SOCKET_PAYLOAD, and only that socket', async () => {
    const s = await setup({ MAX_SOCKET_PAYLOAD: '4096' });
    const { socket } = await s.connect('big-sender');
    const gone = nextEvent<string>(socket, 'disconnect', 3000);
    loose(socket).emit('subscribe', { topic: 'x'.repeat(10 * 1024) });
    expect(await gone).toMatch(/transport (close|error)/);
    await assertStillServing(s, victim);
  });

  it('rate-limits a flood of 500 events per second while another user still receives within a second', async () => {
    const s = await setup();
    const { socket: flooder } = await s.connect('flooder');
    let disconnected = false;
    flooder.on('disconnect', () => (disconnected = true));
    const replies: string[] = [];
    let sent = 0;
    const started = Date.now();
    const flood = (async () => {
      // 5 events every 10 ms for at most 2 s (1,000 events), or until the server drops the socket.
      while (Date.now() - started < 2000 && sent < 1000 && !disconnected) {
        for (let i = 0; i < 5; i++, sent++) {
          flooder.timeout(1500).emit('sync', { afterSeq: 0 }, (err, reply) => {
            replies.push(err ? 'no-ack' : reply.ok ? 'ok' : reply.error.code);
          });
        }
        await sleep(10);
      }
    })();
    await sleep(100);
    const before = Date.now();
    await assertStillServing(s, victim);
    expect(Date.now() - before).toBeLessThan(1000);
    await flood;
    const elapsed = (Date.now() - started) / 1000;
    await eventually(() => replies.length === sent, 3000);
    expect(replies).toContain('rate_limited');
    // Default limit: 20 events/s with bursts of 40.
    expect(replies.filter((r) => r === 'ok').length).toBeLessThanOrEqual(40 + Math.ceil(20 * elapsed) + 5);
    await assertStillServing(s, victim);
  });

  it.each([
    ['subscribe', {}, 'topic'],
    ['unsubscribe', { topic: 42 }, 'topic'],
    ['sync', { afterSeq: -1 }, 'afterSeq'],
    ['sync', { afterSeq: 0, limit: 101 }, 'limit'],
    ['read', { ids: 'x' }, 'ids'],
    ['auth:refresh', 42, 'token'],
  ])('acknowledges %s with %j as invalid_payload naming %s', async (event, payload, field) => {
    const s = await setup();
    const { socket } = await s.connect('sloppy');
    const reply = await emitAck<AckReply>(loose(socket), event, payload);
    expect(reply).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    expect(reply.ok ? '' : reply.error.message).toContain(field);
    expect(socket.connected).toBe(true);
    await assertStillServing(s, victim);
  });

  it('survives events emitted without an acknowledgement callback', async () => {
    const s = await setup();
    const { socket } = await s.connect('careless');
    loose(socket).emit('subscribe', {});
    loose(socket).emit('sync', { afterSeq: -1 });
    loose(socket).emit('read', { ids: 'x' });
    loose(socket).emit('auth:refresh', 42);
    loose(socket).emit('no-such-event');
    loose(socket).emit('subscribe', { topic: 'news' });
    const reply = await emitAck<AckReply & { topics?: string[] }>(socket, 'subscribe', { topic: 'sports' });
    expect(reply).toMatchObject({ ok: true, topics: expect.arrayContaining(['news', 'sports']) });
    await assertStillServing(s, victim);
  });
});

describe('connection policy', () => {
  let server: TestServer | undefined;
  let victim: TestClient;

  async function setup(env: Record<string, string> = {}): Promise<TestServer> {
    server = await startServer(env);
    victim = (await server.connect(VICTIM)).socket;
    return server;
  }

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('refuses a fourth socket of one user with too_many_connections, and accepts one again after a close', async () => {
    const s = await setup({ MAX_CONNECTIONS_PER_USER: '3' });
    const open = [await s.connect('greedy'), await s.connect('greedy'), await s.connect('greedy')];
    await expect(s.connect('greedy')).rejects.toMatchObject({ message: 'forbidden', data: { code: 'too_many_connections' } });
    await expect(s.connect('someone-else')).resolves.toMatchObject({ ready: { userId: 'someone-else' } });
    open[0]!.socket.disconnect();
    const publisher = s.token('svc', { roles: ['publisher'] });
    await eventually(async () => {
      const res = await s.request('GET', '/api/presence/users/greedy', { token: publisher });
      return ((await res.json()) as { connections: number }).connections === 2;
    });
    await expect(s.connect('greedy')).resolves.toMatchObject({ ready: { userId: 'greedy' } });
    await assertStillServing(s, victim);
  });

  it.each([
    ['websocket', ['websocket']],
    ['polling', [Fetch]],
  ])('refuses a browser from another origin over %s with forbidden_origin', async (_name, transports) => {
    const s = await setup();
    await expect(s.connect('browser', { transports, extraHeaders: { origin: 'http://evil.example' } })).rejects.toMatchObject({
      message: 'forbidden',
      data: { code: 'forbidden_origin' },
    });
    await assertStillServing(s, victim);
  });

  it.each([
    ['websocket', ['websocket']],
    ['polling', [Fetch]],
  ])("accepts the server's own origin over %s", async (_name, transports) => {
    const s = await setup();
    await expect(s.connect('browser', { transports, extraHeaders: { origin: s.url } })).resolves.toMatchObject({ ready: { userId: 'browser' } });
    await assertStillServing(s, victim);
  });

  it('accepts a client that sends no Origin header', async () => {
    const s = await setup();
    const { socket, ready } = await s.connect('service');
    expect(ready.userId).toBe('service');
    expect(socket.connected).toBe(true);
    await assertStillServing(s, victim);
  });

  it('accepts an origin listed in CORS_ORIGINS and refuses any other', async () => {
    const s = await setup({ CORS_ORIGINS: 'http://app.example' });
    for (const transports of [['websocket'], [Fetch]]) {
      await expect(s.connect('app-user', { transports, extraHeaders: { origin: 'http://app.example' } })).resolves.toMatchObject({
        ready: { userId: 'app-user' },
      });
      await expect(s.connect('app-user', { transports, extraHeaders: { origin: 'http://evil.example' } })).rejects.toMatchObject({
        message: 'forbidden',
        data: { code: 'forbidden_origin' },
      });
    }
    await assertStillServing(s, victim);
  });
});
