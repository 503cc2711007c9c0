/**
 * One client process of a reconnect storm (bench/lib/storm.ts drives it over
 * IPC): thousands of socket.io-clients that reconnect by themselves with
 * socket.io-client's default backoff, each from a loopback source address of
 * this process. Herald clients follow their feed as the README's client does
 * (followFeed: `auth.lastSeq`, paging `sync`), bare Socket.IO clients just
 * reconnect. Exits when the driver goes away.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { followFeed } from '../scripts/soak/follow-feed.js';
import type { StormReply, StormRequest } from './lib/storm.js';

interface Client {
  socket: Socket;
  user: string;
  up: boolean;
}

const clients: Client[] = [];
const received = new Map<string, Set<string>>();
let live = 0;
let readies = 0;
let connectErrors = 0;
let disconnects = 0;
const errorKinds = new Map<string, number>();
let key: KeyObject | undefined;

function track(client: Client, readyEvent: 'ready' | 'connect'): void {
  client.socket.on(readyEvent, () => {
    readies++;
    if (!client.up) {
      client.up = true;
      live++;
    }
  });
  client.socket.on('disconnect', () => {
    disconnects++;
    if (client.up) {
      client.up = false;
      live--;
    }
  });
  client.socket.on('connect_error', (err: Error & { description?: { message?: string } }) => {
    connectErrors++;
    const kind = `${err.message}: ${err.description?.message ?? ''}`.slice(0, 80);
    errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
  });
}

function connect(req: Extract<StormRequest, { op: 'connect' }>): void {
  if (req.secret) key = createSecretKey(Buffer.from(req.secret));
  req.users.forEach((user, i) => {
    const options = {
      transports: ['websocket'],
      forceNew: true,
      timeout: 30_000,
      // `localAddress` is not in the client's option types; engine.io-client hands it to `ws`.
      localAddress: req.localAddresses[Math.floor(i / req.perAddress) % req.localAddresses.length],
    } as Partial<ManagerOptions & SocketOptions>;
    let socket: Socket;
    if (req.kind === 'herald') {
      const shown = new Set<string>();
      received.set(user, shown);
      socket = followFeed(req.url, {
        token: () => jwt.sign({ sub: user }, key!, { algorithm: 'HS256', expiresIn: 6 * 3600 }),
        show: (n) => shown.add(n.id),
        lastSeq: 0,
        socket: options,
      });
    } else {
      socket = io(req.url, options);
    }
    const client: Client = { socket, user, up: false };
    clients.push(client);
    track(client, req.kind === 'herald' ? 'ready' : 'connect');
  });
}

function handle(req: StormRequest): StormReply {
  switch (req.op) {
    case 'connect':
      connect(req);
      return { live, readies, connectErrors, disconnects };
    case 'status':
      return { live, connected: clients.filter((c) => c.socket.connected).length, readies, connectErrors, disconnects, errors: Object.fromEntries(errorKinds) };
    case 'received':
      return { received: Object.fromEntries([...received].map(([user, ids]) => [user, [...ids]])) };
    case 'close':
      for (const client of clients.splice(0)) client.socket.close();
      return { live, readies, connectErrors, disconnects };
  }
}

process.on('message', (message: { id: number; req: StormRequest }) => {
  process.send?.({ id: message.id, reply: handle(message.req) });
});
process.on('disconnect', () => process.exit(0));
process.once('SIGTERM', () => process.exit(0));
process.send?.({ ready: true });
