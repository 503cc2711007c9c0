import type { Socket as TcpSocket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { io as connectClient, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchWaitingOut503 } from '../../bench/lib/http.js';
import { followFeed } from '../../scripts/soak/follow-feed.js';
import { startHeraldProcess, type HeraldProcess } from '../herald-process.js';
import { eventually, metric } from '../helpers.js';

const TOPIC = 'firehose';
/** A notification of about 15 KB (its `data`). */
const BIG = { blob: 'x'.repeat(15_000) };


/** The TCP socket under a socket.io-client WebSocket transport. */
function tcpOf(socket: Socket): TcpSocket {
  const transport = socket.io.engine.transport as unknown as { name: string; ws?: { _socket?: TcpSocket } };
  const tcp = transport.ws?._socket;
  if (transport.name !== 'websocket' || !tcp) throw new Error(`not a WebSocket transport: ${transport.name}`);
  return tcp;
}

interface Receiver {
  socket: Socket;
  /** Ids shown, in order: followFeed shows each seq once. */
  shown: string[];
  connects: number;
  disconnects: string[];
}

function receiver(herald: HeraldProcess, user: string): Promise<Receiver> {
  const r: Receiver = { socket: undefined as unknown as Socket, shown: [], connects: 0, disconnects: [] };
  r.socket = followFeed(herald.url, {
    token: () => herald.token(user),
    show: (n) => r.shown.push(n.id),
    lastSeq: 0,
    socket: { transports: ['websocket'], forceNew: true, reconnectionDelay: 200, reconnectionDelayMax: 1000 },
  });
  r.socket.on('connect', () => r.connects++);
  r.socket.on('disconnect', (reason) => r.disconnects.push(reason));
  return new Promise((resolve, reject) => {
    r.socket.once('ready', () => resolve(r));
    r.socket.once('connect_error', reject);
  });
}

async function subscribe(herald: HeraldProcess, user: string, topic: string): Promise<void> {
  const res = await fetch(`${herald.url}/api/users/${user}/subscriptions/${topic}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${herald.token('svc', { roles: ['publisher'] })}` },
  });
  expect(res.status).toBe(200);
}

/**
 * POSTs one notification; resolves its id when answered 202. A 503 (the node's event loop lagging
 * past OVERLOAD_LAG_MS under this load, SPEC §8) is tried again after its Retry-After, as a
 * publisher does.
 */
async function publish(herald: HeraldProcess, token: string, body: object): Promise<string> {
  const res = await fetchWaitingOut503(`${herald.url}/api/notifications`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

describe('a slow consumer (SPEC §8)', () => {
  let herald: HeraldProcess | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await herald?.dispose();
    herald = undefined;
  });

  it('is closed at MAX_SOCKET_BUFFER_BYTES while it stops reading, keeps the node small, and recovers every notification exactly once', async () => {
    herald = await startHeraldProcess({
      env: { RETENTION_PER_STREAM: '1000000', API_RATE_PER_SEC: '0', SOCKET_EVENTS_PER_SEC: '500', SOCKET_EVENTS_BURST: '500' },
    });
    const node = herald;
    await subscribe(node, 'healthy', TOPIC);
    await subscribe(node, 'stalled', TOPIC);
    const healthy = await receiver(node, 'healthy');
    const stalled = await receiver(node, 'stalled');
    sockets.push(healthy.socket, stalled.socket);
    const published: string[] = [];
    const token = node.token('svc', { roles: ['publisher'] });
    const publishFor = async (ms: number) => {
      const until = Date.now() + ms;
      const publisher = async () => {
        while (Date.now() < until) published.push(await publish(node, token, { to: { topic: TOPIC }, title: `n${published.length}`, data: BIG }));
      };
      await Promise.all([publisher(), publisher(), publisher(), publisher()]);
    };
    // Both clients read while the node warms up at full speed for 8 s: its heap (and V8's young
    // generation, up to 3 × 64 MB with --max-semi-space-size=64) grows to what this load takes.
    // Measured from a 3 s warm-up, a node with no stalled client at all still grew by 110 MB.
    await publishFor(8000);
    const rssBefore = node.rss();
    let rssPeak = rssBefore;
    // The stalled client stops reading: its kernel buffers fill, then everything waits in the node.
    tcpOf(stalled.socket).pause();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        rssPeak = Math.max(rssPeak, node.rss());
        await sleep(100);
      }
    })();
    try {
      await publishFor(20_000);
    } finally {
      sampling = false;
      await sampler;
    }

    // Without the cap (MAX_SOCKET_BUFFER_BYTES=4e9) the node grew by 350 MB here in these 20 s; with it, by about 1 MB.
    expect(published.length).toBeGreaterThan(2000);
    expect(rssPeak - rssBefore).toBeLessThan(100 * 1024 * 1024);
    expect(await metric(node.url, 'herald_slow_consumer_closes_total')).toBeGreaterThanOrEqual(1);
    expect(node.output()).toMatch(/slow consumer: closing its transport/);
    expect(node.output()).toMatch(/"userId":"stalled"/);

    // The healthy client on the same topic was never slowed down or closed, and has everything live.
    await eventually(() => healthy.shown.length >= published.length, 20_000, 50);
    expect(healthy.disconnects).toEqual([]);
    expect([...healthy.shown].sort()).toEqual([...published].sort());

    // The stalled client resumes reading: it sees its transport closed, reconnects by itself and
    // pages through what it missed, from auth.lastSeq.
    tcpOf(stalled.socket).resume();
    await eventually(() => stalled.connects >= 2 && stalled.shown.length >= published.length, 60_000, 100);
    expect(stalled.disconnects.length).toBeGreaterThanOrEqual(1);
    expect(stalled.disconnects).not.toContain('io server disconnect');
    expect(stalled.shown).toHaveLength(new Set(stalled.shown).size);
    expect([...stalled.shown].sort()).toEqual([...published].sort());
  }, 120_000);

  it('is closed on the long-polling transport too, when it stops polling, while a polling client that reads is not', async () => {
    herald = await startHeraldProcess({ env: { API_RATE_PER_SEC: '0' } });
    const node = herald;
    await subscribe(node, 'poller', TOPIC);
    await subscribe(node, 'reader', TOPIC);
    const reader = connectClient(node.url, { transports: ['polling'], forceNew: true, reconnection: false, auth: { token: node.token('reader') } });
    sockets.push(reader);
    const read: string[] = [];
    reader.on('notification', (n: { id: string }) => read.push(n.id));
    await new Promise((resolve) => reader.once('ready', resolve));

    // A session that polls until `ready`, then never again: everything for it waits in the node.
    const base = `${node.url}/socket.io/?EIO=4&transport=polling`;
    const open = await (await fetch(base)).text();
    const sid = (JSON.parse(open.slice(1)) as { sid: string }).sid;
    expect((await fetch(`${base}&sid=${sid}`, { method: 'POST', body: `40${JSON.stringify({ token: node.token('poller') })}` })).status).toBe(200);
    let polled = '';
    while (!polled.includes('"ready"')) polled += await (await fetch(`${base}&sid=${sid}`)).text();

    const token = node.token('svc', { roles: ['publisher'] });
    const published: string[] = [];
    // 150 notifications of 15 KB, one after the other: 2.2 MB for the poller, past the 1 MiB cap.
    for (let i = 0; i < 150; i++) published.push(await publish(node, token, { to: { topic: TOPIC }, title: `p${i}`, data: BIG }));

    await eventually(async () => (await metric(node.url, 'herald_slow_consumer_closes_total')) >= 1, 5000);
    const gone = await fetch(`${base}&sid=${sid}`);
    expect(gone.status).toBe(400);
    expect(await gone.json()).toMatchObject({ message: 'Session ID unknown' });
    await eventually(() => read.length >= published.length, 10_000);
    expect(reader.connected).toBe(true);
    expect(read).toEqual(published);
    expect(await metric(node.url, 'herald_slow_consumer_closes_total')).toBe(1);
  }, 60_000);
});
