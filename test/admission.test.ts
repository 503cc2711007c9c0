import { connect as tcpConnect, type Socket as TcpSocket } from 'node:net';
import { io as connectClient } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { eventually, metric, nextEvent, sleep, startServer, type TestClient, type TestServer } from './helpers.js';

/** An Engine.IO handshake over long-polling: the status, Retry-After and body. */
async function pollingHandshake(url: string): Promise<{ status: number; retryAfter: string | null; body: string }> {
  const res = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
}

/** A new session over WebSocket: resolves 101 when it opens, else the refused upgrade's status and Retry-After. */
function websocketHandshake(url: string): Promise<{ status: number; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    ws.once('open', () => {
      ws.terminate();
      resolve({ status: 101, retryAfter: undefined });
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined });
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

/** Opens a TCP connection; `send` writes a whole HTTP request on it, and `response` resolves the raw answer once it ends. */
async function rawConnection(url: string): Promise<{ send: (request: string) => void; response: Promise<string> }> {
  const { port } = new URL(url);
  const socket: TcpSocket = tcpConnect(Number(port), '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const response = new Promise<string>((resolve) => socket.once('close', () => resolve(text)));
  return { send: (request) => socket.write(request), response };
}

/** Keeps the event loop busy for `ms`: what a node under too much work looks like from inside. */
function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

describe('admission of new connections (SPEC §8)', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('lets handshakes past MAX_HANDSHAKES_PER_SEC (bursts of twice that) wait ten seconds\' worth, and answers the rest 503 with Retry-After at once', async () => {
    const running = (server = await startServer({ MAX_HANDSHAKES_PER_SEC: '5' }));
    const started = Date.now();
    // 70 at once: the burst of 10 goes on, 10 s' worth at 5/s (50) waits for a slot, 10 are refused.
    const answers = Array.from({ length: 70 }, () => pollingHandshake(running.url).then((a) => ({ ...a, after: Date.now() - started })));
    const settled: { status: number; retryAfter: string | null; body: string; after: number }[] = [];
    for (const answer of answers) void answer.then((a) => settled.push(a));
    await eventually(() => settled.filter((a) => a.status === 503).length >= 10 && settled.filter((a) => a.status === 200).length >= 10, 3000);
    const refused = settled.filter((a) => a.status === 503);
    expect(refused).toHaveLength(10);
    for (const r of refused) {
      expect(r.after).toBeLessThan(1000);
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(r.body)).toEqual({ error: { code: 'unavailable', message: expect.stringMatching(/too many new connections/) } });
    }
    expect(await metric(running.url, 'herald_handshakes_waiting')).toBeGreaterThan(40);
    // A WebSocket-only client is refused the same way, before the upgrade, while the waiting room is full.
    const ws = await websocketHandshake(running.url);
    expect(ws).toEqual({ status: 503, retryAfter: expect.stringMatching(/^\d+$/) });
    // The waiting ones go on in order, at the rate: about five a second.
    await sleep(1500);
    const admitted = settled.filter((a) => a.status === 200).length;
    expect(admitted).toBeGreaterThanOrEqual(12);
    expect(admitted).toBeLessThanOrEqual(10 + Math.ceil(((Date.now() - started) / 1000) * 5) + 1);
    expect(await metric(running.url, 'herald_handshakes_refused_total{reason="rate"}')).toBe(11);
    // Closing the node answers whoever still waits.
    await running.close();
    server = undefined;
    const last = await Promise.all(answers);
    expect(last.filter((a) => a.status === 200).length + last.filter((a) => a.status === 503).length).toBe(70);
  });

  it('lets socket.io-client in with its own backoff after a refusal, and never drops an established socket for load', async () => {
    const running = (server = await startServer({ MAX_HANDSHAKES_PER_SEC: '1' }));
    const { socket: established } = await running.connect('alice');
    // The rest of the burst of 2, then ten seconds' worth waiting (held, then let go): the waiting room is full.
    expect((await pollingHandshake(running.url)).status).toBe(200);
    const held = new AbortController();
    const waiting = Array.from({ length: 10 }, () => fetch(`${running.url}/socket.io/?EIO=4&transport=polling`, { signal: held.signal }).catch(() => undefined));
    await eventually(async () => (await metric(running.url, 'herald_handshakes_waiting')) === 10, 3000);
    expect((await pollingHandshake(running.url)).status).toBe(503);
    const late: TestClient = connectClient(running.url, {
      transports: ['websocket'],
      forceNew: true,
      reconnectionDelay: 300,
      reconnectionDelayMax: 500,
      auth: { token: running.token('bob') },
    });
    try {
      const errors: string[] = [];
      late.on('connect_error', (err) => errors.push(err.message));
      await eventually(() => errors.length >= 1, 3000);
      held.abort();
      await Promise.all(waiting);
      await nextEvent(late, 'ready', 10_000);
      expect(errors.length).toBeGreaterThanOrEqual(1);
      expect(established.connected).toBe(true);
    } finally {
      late.close();
    }
  });

  it('refuses handshakes and publishes with 503 while the event loop lags past OVERLOAD_LAG_MS, and admits again once it recovers', async () => {
    const running = (server = await startServer({ OVERLOAD_LAG_MS: '150' }));
    const { socket: established } = await running.connect('alice');
    const publisher = running.token('svc', { roles: ['publisher'] });
    const body = JSON.stringify({ to: { user: 'alice' }, title: 'under load' });
    // Both requests reach the node while its event loop is stuck: written, then the loop is blocked
    // in the same synchronous step, so the node reads them only afterwards.
    const handshake = await rawConnection(running.url);
    const publish = await rawConnection(running.url);
    handshake.send(`GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    publish.send(
      `POST /api/notifications HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer ${publisher}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    blockEventLoop(600);
    const [handshakeReply, publishReply] = await Promise.all([handshake.response, publish.response]);
    expect(handshakeReply).toMatch(/^HTTP\/1\.1 503 /);
    expect(handshakeReply).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(handshakeReply).toContain('"code":"unavailable"');
    expect(publishReply).toMatch(/^HTTP\/1\.1 503 /);
    expect(publishReply).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(publishReply).toContain('"code":"unavailable"');
    expect(publishReply).toContain('overloaded');
    expect(established.connected).toBe(true);

    // Nothing was stored: alice's feed is empty. Then the node recovers and admits again.
    await eventually(async () => (await pollingHandshake(running.url)).status === 200, 3000, 100);
    const feed = await running.request('GET', '/api/me/notifications', { token: running.token('alice') });
    expect(((await feed.json()) as { items: unknown[] }).items).toEqual([]);
    expect((await running.request('POST', '/api/notifications', { token: publisher, body: JSON.parse(body) })).status).toBe(202);
    expect(established.connected).toBe(true);
    expect(await metric(running.url, 'herald_overloads_total')).toBeGreaterThanOrEqual(1);
    expect(await metric(running.url, 'herald_handshakes_refused_total{reason="overload"}')).toBeGreaterThanOrEqual(1);
    expect(await metric(running.url, 'herald_publishes_refused_total{reason="overload"}')).toBeGreaterThanOrEqual(1);
  });
});
