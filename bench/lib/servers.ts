/**
 * The servers under test, each in its own child process so that its CPU time
 * and memory can be read from /proc: a raw `ws` server, bare Socket.IO, and
 * Herald itself (its bundle, `node dist/server/main.mjs`, as `npm start` runs it). Each runs with
 * `--inspect` on loopback, through which the driver forces a full GC before a
 * memory reading and records CPU profiles of measured windows.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { freePort } from '../../test/free-port.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { signToken } from '../../server/src/auth/token-verifier.js';
import { NODE_FLAGS } from '../../server/src/node-flags.js';
import { ensureBundle, SERVER_BUNDLE } from '../../scripts/server-bundle.js';
import type { AdminStats } from '../../protocol/admin.js';
import { onCleanup, spawnChild, stopChild, type Child } from './children.js';
import { HttpClient } from './http.js';
import { Inspector } from './inspector.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** `previous`: another build of Herald measured beside this one (`--baseline`, bench/lib/baseline.ts). */
export type ServerKind = 'ws' | 'sio' | 'herald' | 'previous';
export const SERVER_NAMES: Record<ServerKind, string> = { ws: 'raw ws', sio: 'Socket.IO', herald: 'Herald', previous: 'previous Herald' };

/** The HS256 secret of every Herald the benchmark starts. */
export const BENCH_SECRET = 'herald-benchmark-secret-at-least-32-characters';

export interface ServerHandle {
  readonly kind: ServerKind;
  readonly child: Child;
  readonly pid: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly http: HttpClient;
  readonly inspector: Inspector;
  /** Publishes one fan-out message (its number and send time are in `body`) to every connected client; resolves with the HTTP status. */
  publishFanout(body: object): Promise<number>;
  /** Heap used after a full GC (Herald: read through `GET /api/admin/stats`). */
  heapUsedAfterGc(): Promise<number>;
  stop(): Promise<void>;
}

export interface HeraldHandle extends ServerHandle {
  readonly kind: 'herald';
  readonly dataDir: string;
  readonly publisherToken: string;
  readonly adminToken: string;
  stats(): Promise<AdminStats>;
  /** Stops Herald gracefully, runs `read` on its data folder, then removes the folder. */
  stopAndRead<T>(read: (dataDir: string) => T): Promise<T>;
}

/** Waits for the child's "Debugger listening on ws://…" line. */
async function inspectorOf(child: Child, ms = 30_000): Promise<Inspector> {
  const deadline = Date.now() + ms;
  for (;;) {
    const match = /Debugger listening on (ws:\/\/\S+)/.exec(child.output());
    if (match) return Inspector.connect(match[1]!);
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited: ${child.output().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`${child.name}: no inspector within ${ms} ms`);
    await sleep(20);
  }
}

async function waitFor(child: Child, what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new Error(`${child.name} exited before ${what}: ${child.output().slice(-2000)}`);
    }
    if (Date.now() > deadline) throw new Error(`${child.name}: ${what} did not happen within ${ms / 1000} s`);
    await sleep(50);
  }
}

/** Starts a baseline server (bench/servers/*-server.ts), with Herald's V8 flags: the ratios compare code, not flags. */
export async function startBaseline(kind: 'ws' | 'sio', extraArgs: string[] = []): Promise<ServerHandle> {
  const port = await freePort();
  const inspectPort = await freePort();
  const file = path.join(ROOT, 'bench', 'servers', kind === 'ws' ? 'ws-server.ts' : 'socketio-server.ts');
  const child = spawnChild(kind, process.execPath, [`--inspect=127.0.0.1:${inspectPort}`, ...NODE_FLAGS, ...extraArgs, '--import', 'tsx', file], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), NODE_ENV: 'production' },
  });
  const url = `http://127.0.0.1:${port}`;
  const http = new HttpClient(url);
  try {
    const inspector = await inspectorOf(child);
    await waitFor(child, 'listening', async () => (await http.send('GET', '/healthz')).status === 200);
    return {
      kind,
      child,
      pid: child.pid,
      url,
      http,
      inspector,
      publishFanout: async (body) => (await http.send('POST', '/publish', body)).status,
      heapUsedAfterGc: async () => {
        await inspector.collectGarbage();
        return (await inspector.memoryUsage()).heapUsed;
      },
      stop: async () => {
        inspector.close();
        http.close();
        await stopChild(child, 3000);
      },
    };
  } catch (err) {
    http.close();
    await stopChild(child, 1000);
    throw err;
  }
}

export interface HeraldOptions {
  /** Extra environment (REDIS_URL, NODE_ID, ADMIN_STATS_INTERVAL_MS, …). */
  env?: Record<string, string>;
  /** Extra Node flags (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  name?: string;
  /** Another build to run in this one's place (a baseline's bundle), started in `cwd`. */
  build?: { bundle: string; cwd: string };
}

/**
 * Starts Herald the way `npm start` does, with a fresh data folder, the bench
 * secret, logging at `warn`, no REST rate limit and no per-user socket cap.
 */
export async function startHerald(opts: HeraldOptions = {}): Promise<HeraldHandle> {
  const port = await freePort();
  const inspectPort = await freePort();
  // BENCH_DATA_DIR moves the SQLite file (e.g. to /dev/shm, where fsync is free: an experiment, not a result).
  const dataDir = mkdtempSync(path.join(process.env.BENCH_DATA_DIR ?? tmpdir(), 'herald-bench-'));
  const forget = onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
  const name = opts.name ?? 'herald';
  if (!opts.build) ensureBundle();
  const child = spawnChild(
    name,
    process.execPath,
    // BENCH_HERALD_ENTRY (another entry in Herald's place) and BENCH_HERALD_NODE_ARGS
    // (e.g. V8 flags) are for experiments: never for the results.
    [
      `--inspect=127.0.0.1:${inspectPort}`,
      ...NODE_FLAGS,
      ...(opts.nodeArgs ?? []),
      ...(process.env.BENCH_HERALD_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      ...(opts.build ? [opts.build.bundle] : process.env.BENCH_HERALD_ENTRY ? ['--import', 'tsx', process.env.BENCH_HERALD_ENTRY] : [SERVER_BUNDLE]),
    ],
    {
      cwd: opts.build?.cwd ?? ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        JWT_SECRET: BENCH_SECRET,
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        API_RATE_PER_SEC: '0',
        MAX_CONNECTIONS_PER_USER: '1000000',
        SHUTDOWN_TIMEOUT_MS: '3000',
        ...opts.env,
      },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const http = new HttpClient(url);
  const publisherToken = signToken(BENCH_SECRET, { sub: 'bench-publisher', roles: ['publisher'], expiresIn: 6 * 3600 });
  const adminToken = signToken(BENCH_SECRET, { sub: 'bench-admin', roles: ['admin'], expiresIn: 6 * 3600 });
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const stats = async (): Promise<AdminStats> => {
    const res = await http.send('GET', '/api/admin/stats', undefined, auth(adminToken));
    if (res.status !== 200) throw new Error(`GET /api/admin/stats: ${res.status} ${res.body}`);
    return JSON.parse(res.body) as AdminStats;
  };
  let inspector: Inspector | undefined;
  async function stopAndRead<T>(read: (dir: string) => T): Promise<T> {
    inspector?.close();
    http.close();
    await stopChild(child, 8000);
    try {
      return read(dataDir);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      forget();
    }
  }
  try {
    const connected = (inspector = await inspectorOf(child));
    await waitFor(child, 'ready', async () => (await http.send('GET', '/readyz')).status === 200);
    return {
      kind: 'herald',
      child,
      pid: child.pid,
      url,
      http,
      inspector: connected,
      dataDir,
      publisherToken,
      adminToken,
      stats,
      publishFanout: async (body) => (await http.send('POST', '/api/notifications', body, auth(publisherToken))).status,
      heapUsedAfterGc: async () => {
        await connected.collectGarbage();
        return (await stats()).nodes[0]!.memory.heapUsed;
      },
      stop: () => stopAndRead(() => undefined),
      stopAndRead,
    };
  } catch (err) {
    http.close();
    await stopChild(child, 1000);
    rmSync(dataDir, { recursive: true, force: true });
    forget();
    throw err;
  }
}

/** `Authorization` header for a token. */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
