import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { io as connectClient, type Socket as ClientSocket, type SocketOptions, type ManagerOptions } from 'socket.io-client';
import { signToken } from '../server/src/auth/token-verifier.js';
import { loadConfig, type HeraldConfig } from '../server/src/config.js';
import { createHerald, type Herald, type HeraldDeps } from '../server/src/herald.js';
import { createLogger } from '../server/src/logger.js';
import type { ClientToServerEvents, ReadyPayload, ServerToClientEvents } from '../protocol/events.js';
import type { PublishInput } from '../protocol/requests.js';
import type { PublishResponse } from '../protocol/responses.js';
import { request, TestApi } from './kit/api.js';

export const SECRET = 'test-secret-that-is-at-least-32-characters-long';

export type TestClient = ClientSocket<ServerToClientEvents, ClientToServerEvents>;

export interface TestServer {
  herald: Herald;
  config: HeraldConfig;
  url: string;
  dataDir: string;
  /** Signs a token for this server (HS256 with the test secret). */
  token(sub: string, opts?: { roles?: string[]; topics?: string[]; expiresIn?: number }): string;
  /** The typed API client of the route table, without a token (`api.as(token)` for one). */
  api: TestApi;
  /** Publishes as a publisher (`POST /api/notifications`), expecting 202. */
  publish(request: PublishInput): Promise<PublishResponse>;
  /** `fetch` against the server with an optional bearer token. */
  request(method: string, route: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  /** A connected socket.io-client (websocket transport) for `sub`, resolved with its `ready` payload. */
  connect(sub: string, opts?: ClientOptions): Promise<{ socket: TestClient; ready: ReadyPayload }>;
  /** Closes every client this helper opened, the server, and removes the data folder unless kept. */
  close(opts?: { keepData?: boolean }): Promise<void>;
}

export type ClientOptions = Partial<ManagerOptions & SocketOptions> & { roles?: string[]; topics?: string[]; lastSeq?: number; token?: string };

/** Starts a real Herald on port 0 with a fresh SQLite folder (or the one given). */
export async function startServer(env: Record<string, string> = {}, deps: HeraldDeps = {}): Promise<TestServer> {
  const dataDir = env.DATA_DIR ?? mkdtempSync(path.join(tmpdir(), 'herald-test-'));
  // OVERLOAD_LAG_MS off unless a test sets it: this server shares its event loop with the test,
  // whose own synchronous work (an RSA key pair, a large fixture) would read as overload and turn
  // the next handshake away with 503 (test/admission.test.ts and the process tests keep the default).
  const config = loadConfig({ JWT_SECRET: SECRET, LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0', OVERLOAD_LAG_MS: '0', ...env, DATA_DIR: dataDir });
  const herald = await createHerald(config, { logger: createLogger(config.logLevel), ...deps });
  await new Promise<void>((resolve) => herald.http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(herald.http.address() as AddressInfo).port}`;
  const clients = new Set<TestClient>();
  const token: TestServer['token'] = (sub, opts = {}) => signToken(SECRET, { sub, ...opts }, config.jwt);
  const api = new TestApi(url);
  return {
    herald,
    config,
    url,
    dataDir,
    token,
    api,
    // Signed at each call: a test may move the clock past a token's expiry.
    publish: (body) => api.as(token('test-publisher', { roles: ['publisher'] })).ok('publishNotification', { body }),
    request: (method, route, opts) => request(url, method, route, opts),
    async connect(sub, opts = {}) {
      const { roles, topics, lastSeq, token: given, ...options } = opts;
      const socket: TestClient = connectClient(url, {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        auth: { token: given ?? token(sub, { roles, topics }), ...(lastSeq !== undefined ? { lastSeq } : {}) },
        ...options,
      });
      clients.add(socket);
      const ready = await new Promise<ReadyPayload>((resolve, reject) => {
        socket.once('ready', resolve);
        socket.once('connect_error', reject);
      });
      return { socket, ready };
    },
    async close(opts = {}) {
      for (const client of clients) client.disconnect();
      await herald.close();
      if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Resolves with the next `event` on `socket`, or rejects after `ms`. */
export function nextEvent<T = unknown>(socket: ClientSocket, event: string, ms = 3000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, handler);
      reject(new Error(`no "${event}" within ${ms} ms`));
    }, ms);
    const handler = (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    };
    socket.once(event, handler);
  });
}

/** Resolves with the `connect_error` of a socket that must be refused. */
export function connectError(socket: ClientSocket, ms = 3000): Promise<Error & { data?: { code?: string } }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no connect_error')), ms);
    socket.once('connect', () => reject(new Error('connected, but should have been refused')));
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      resolve(err as Error & { data?: { code?: string } });
    });
  });
}

/** Collects every `event` a socket receives into an array. */
export function collect<T = unknown>(socket: ClientSocket, event: string): T[] {
  const seen: T[] = [];
  socket.on(event, (payload: T) => seen.push(payload));
  return seen;
}

/** Emits with an acknowledgement and resolves it. */
export function emitAck<T = unknown>(socket: ClientSocket, event: string, payload: unknown, ms = 3000): Promise<T> {
  return socket.timeout(ms).emitWithAck(event, payload) as Promise<T>;
}

export { sleep };

/** Polls `check` until it returns a truthy value or `ms` pass. */
export async function eventually<T>(check: () => T | Promise<T>, ms = 3000, step = 20): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(step);
  }
}

export { freePort } from './free-port.js';

/** The value of one sample (`name{labels}`) in a node's `/metrics`, 0 when absent. */
export async function metric(url: string, sample: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const found = text.split('\n').find((line) => line.startsWith(`${sample} `));
  return found ? Number(found.slice(sample.length + 1)) : 0;
}
