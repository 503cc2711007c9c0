/**
 * One client process of the benchmark: holds thousands of sockets to one server
 * from its own loopback source addresses, counts what they receive, and records the
 * latency from each message's send time (`data.t`) to its receipt. Driven over
 * IPC by bench/lib/client-pool.ts; exits when the driver goes away.
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { WebSocket } from 'ws';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { Histogram, nowMicros } from './lib/histogram.js';
import type { BenchData } from './lib/message.js';
import type { DoneEvent, WorkerReply, WorkerRequest } from './lib/worker-protocol.js';

interface Client {
  close(): void;
}

const clients: Client[] = [];
const histogram = new Histogram();
/** Fan-out receipts per message number, until every live socket here has it. */
const pending = new Map<number, number>();
let live = 0;
let received = 0;
/** Connections attempted so far: picks the source address. */
let attempts = 0;
let signingKey: { secret: string; key: KeyObject } | undefined;

/** The token of Herald user `u<index>`: HS256, as `npm run token` signs it (jsonwebtoken alone keeps this process light). */
function tokenFor(index: number, secret: string): string {
  if (signingKey?.secret !== secret) signingKey = { secret, key: createSecretKey(Buffer.from(secret)) };
  return jwt.sign({ sub: `u${index}` }, signingKey.key, { algorithm: 'HS256', expiresIn: 6 * 3600 });
}

function send(message: DoneEvent | { id: number; reply: WorkerReply }): void {
  process.send?.(message);
}

function receive(data: BenchData | undefined): void {
  if (!data) return;
  received++;
  histogram.record(nowMicros() - data.t);
  if (data.m !== 'f') return;
  const seen = (pending.get(data.k) ?? 0) + 1;
  if (seen >= live) {
    pending.delete(data.k);
    send({ done: data.k });
  } else {
    pending.set(data.k, seen);
  }
}

/** A socket that went away may have been the last one a message waited for. */
function lost(): void {
  live--;
  for (const [k, seen] of pending) {
    if (seen >= live) {
      pending.delete(k);
      send({ done: k });
    }
  }
}

function connectWs(url: string, localAddress: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress, perMessageDeflate: false });
    ws.once('open', () => {
      live++;
      ws.once('close', lost);
      resolve({ close: () => ws.terminate() });
    });
    ws.once('error', reject);
    ws.on('message', (raw: Buffer) => receive((JSON.parse(raw.toString()) as { data?: BenchData }).data));
  });
}

function connectSocketIo(url: string, localAddress: string, token: string | undefined): Promise<Client> {
  return new Promise((resolve, reject) => {
    // `localAddress` is not in the client's option types, but engine.io-client
    // hands it to the `ws` constructor, and from there to the TCP connection.
    const options = {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 60_000,
      localAddress,
      ...(token ? { auth: { token } } : {}),
    } as Partial<ManagerOptions & SocketOptions>;
    const socket: Socket = io(url, options);
    // Herald is ready once `ready` arrives (rooms joined); bare Socket.IO at `connect`.
    socket.once(token ? 'ready' : 'connect', () => {
      live++;
      socket.once('disconnect', lost);
      resolve({ close: () => socket.disconnect() });
    });
    socket.once('connect_error', (err: Error) => {
      socket.disconnect();
      reject(err);
    });
    socket.on('notification', (n: { data?: BenchData }) => receive(n.data));
  });
}

async function connectAll(req: Extract<WorkerRequest, { op: 'connect' }>): Promise<WorkerReply> {
  const started = Date.now();
  let next = 0;
  let connected = 0;
  let failed = 0;
  let refused = 0;
  let error: string | undefined;
  const one = async (index: number, tries = 1): Promise<void> => {
    const token = req.kind === 'herald' ? tokenFor(index, req.secret!) : undefined;
    const localAddress = req.localAddresses[Math.floor(attempts++ / req.perAddress) % req.localAddresses.length]!;
    const attempt = req.kind === 'ws' ? connectWs(req.url, localAddress) : connectSocketIo(req.url, localAddress, token);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not connected within ${req.timeoutMs} ms`)), req.timeoutMs);
    });
    try {
      clients.push(await Promise.race([attempt, timeout]));
      connected++;
    } catch (err) {
      // A handshake refused with 503 (admission, overload: SPEC §8) is tried again after its
      // Retry-After, as socket.io-client's reconnection would; counted, and failed after 5 tries.
      if (/websocket error|unexpected server response: 503/i.test((err as Error).message) && tries < 5) {
        refused++;
        clearTimeout(timer);
        await sleep(1000);
        return one(index, tries + 1);
      }
      failed++;
      error ??= (err as Error).message;
      // An attempt that connects after its timeout counts as live: close it, which also counts it off.
      attempt.then((late) => late.close(), () => undefined);
    } finally {
      clearTimeout(timer);
    }
  };
  const lane = async () => {
    while (next < req.count) await one(req.from + next++);
  };
  await Promise.all(Array.from({ length: Math.min(req.concurrency, req.count) }, lane));
  return { connected, failed, refused, ms: Date.now() - started, ...(error ? { error } : {}) };
}

async function handle(req: WorkerRequest): Promise<WorkerReply> {
  switch (req.op) {
    case 'connect':
      return connectAll(req);
    case 'counters':
      return { received, live };
    case 'reset':
      // Only the samples: messages in flight still complete.
      histogram.reset();
      return {};
    case 'histogram':
      return { histogram: histogram.toJSON() };
    case 'close': {
      const closed = clients.length;
      for (const client of clients.splice(0)) client.close();
      pending.clear();
      return { closed };
    }
  }
}

process.on('message', (message: { id: number; req: WorkerRequest }) => {
  handle(message.req).then(
    (reply) => send({ id: message.id, reply }),
    (err: unknown) => send({ id: message.id, reply: { connected: 0, failed: 0, refused: 0, ms: 0, error: String(err) } }),
  );
});
// The driver is gone (finished, or killed): nothing here may outlive it.
process.on('disconnect', () => process.exit(0));
process.once('SIGTERM', () => process.exit(0));
process.send?.({ ready: true });
