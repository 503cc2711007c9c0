/**
 * A local Herald cluster without Docker: Debian's redis-server on loopback, with
 * its append-only file on, and two Herald nodes sharing it.
 *
 *   npm run cluster
 *
 * Environment (all optional):
 * - `CLUSTER_PORTS` (default `3001,3002`): one node per port, named node-1, node-2, …
 * - `CLUSTER_REDIS_PORT` (default `6390`)
 * - `CLUSTER_DATA_DIR` (default `./data`): `cluster-redis/` (AOF), `node-N/`, `cluster-secret`
 * - `JWT_SECRET`: shared by the nodes; without it one is made once and kept in
 *   `cluster-secret`, so that tokens stay valid across runs.
 * Any other variable (LOG_LEVEL, RETENTION_DAYS, …) passes through to the nodes.
 *
 * Ctrl+C (SIGINT) or SIGTERM stops the nodes, then Redis, each by its PID
 * (SIGKILL after 15 s). The children run in their own process groups, so a
 * terminal's Ctrl+C reaches this script only, and Redis goes last, after the
 * nodes have left the cluster.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { signToken } from '../server/src/auth/token-verifier.js';
import { NODE_FLAGS } from '../server/src/node-flags.js';
import { ensureBundle, SERVER_BUNDLE } from './server-bundle.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const START_TIMEOUT_MS = 60_000;
/** Nodes drain over DRAIN_MS (10 s by default), close within SHUTDOWN_TIMEOUT_MS (10 s) and exit. */
const STOP_TIMEOUT_MS = 25_000;

class ClusterError extends Error {}

interface Child {
  name: string;
  process: ChildProcess;
  /** Resolves with the exit code or signal; never rejects. */
  exited: Promise<string>;
}

const children: Child[] = [];
let stopping = false;

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Debian's /usr/bin/redis-server, or one on PATH. */
function findRedis(): string {
  const dirs = ['/usr/bin', ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean)];
  const found = dirs.map((dir) => path.join(dir, 'redis-server')).find((file) => existsSync(file));
  if (!found) throw new ClusterError('redis-server is not installed: apt-get install redis-server (Debian/Ubuntu), or put it on PATH');
  return found;
}

function portsFrom(name: string, fallback: string): number[] {
  const ports = (process.env[name] || fallback).split(',').map((p) => Number(p.trim()));
  if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
    throw new ClusterError(`${name} must be a comma-separated list of ports, e.g. ${fallback}`);
  }
  return ports;
}

/** Fails early, with the variable to change, when a port is taken. */
function assertPortFree(port: number, variable: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new ClusterError(`port ${port} is in use: free it, or choose others with ${variable}=…`) : err),
    );
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

/** The shared HS256 secret: JWT_SECRET, or one made once and kept in `file`. */
function clusterSecret(file: string): { secret: string; fromEnv: boolean } {
  if (process.env.JWT_SECRET) return { secret: process.env.JWT_SECRET, fromEnv: true };
  if (!existsSync(file)) writeFileSync(file, `${randomBytes(48).toString('base64url')}\n`, { mode: 0o600 });
  return { secret: readFileSync(file, 'utf8').trim(), fromEnv: false };
}

/** Spawns a child in its own process group and forwards its output, line by line, with a prefix. */
function start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const child = spawn(command, args, { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = `[${name}]`.padEnd(9);
  for (const [stream, out] of [[child.stdout, process.stdout], [child.stderr, process.stderr]] as const) {
    createInterface({ input: stream }).on('line', (line) => line.trim() && out.write(`${prefix} ${line}\n`));
  }
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'ENOENT' ? `not found (${command})` : err.message),
    );
    child.once('exit', (code, signal) => resolve(signal ?? `code ${code}`));
  });
  const entry = { name, process: child, exited };
  children.push(entry);
  return entry;
}

const alive = (child: Child) => child.process.exitCode === null && child.process.signalCode === null && child.process.pid !== undefined;

/** SIGTERM by PID, SIGKILL if it has not exited after `ms`. */
async function stop(child: Child, ms = STOP_TIMEOUT_MS): Promise<void> {
  if (!alive(child)) return;
  process.kill(child.process.pid!, 'SIGTERM');
  const timer = setTimeout(() => alive(child) && process.kill(child.process.pid!, 'SIGKILL'), ms);
  await child.exited;
  clearTimeout(timer);
}

/** Polls `check` every 100 ms until it holds; fails when `child` exits first or after `ms`. */
async function waitUntil(what: string, child: Child, check: () => Promise<boolean>, ms = START_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (!alive(child)) throw new ClusterError(`${child.name} exited (${await child.exited}) before ${what}`);
    if (Date.now() > deadline) throw new ClusterError(`${what} did not happen within ${ms / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => done(chunk.toString().startsWith('+PONG')));
  });
}

async function isReady(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) })).status === 200;
  } catch {
    return false; // not listening yet
  }
}

/** For an exit through an error: no child is left behind. */
function killAll(): void {
  for (const child of children) if (alive(child)) process.kill(child.process.pid!, 'SIGKILL');
}

/** Stops the nodes, then Redis, and exits with `code`. */
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  const nodes = children.filter((c) => c.name !== 'redis');
  if (nodes.some(alive)) say('cluster: stopping the nodes…');
  await Promise.all(nodes.map((c) => stop(c)));
  const redis = children.find((c) => c.name === 'redis');
  if (redis && alive(redis)) say('cluster: stopping Redis…');
  if (redis) await stop(redis);
  process.exit(code);
}

async function main(): Promise<void> {
  const ports = portsFrom('CLUSTER_PORTS', '3001,3002');
  const [redisPort] = portsFrom('CLUSTER_REDIS_PORT', '6390') as [number];
  const dataDir = path.resolve(process.env.CLUSTER_DATA_DIR || 'data');
  const redisDir = path.join(dataDir, 'cluster-redis');
  const shown = (p: string) => (path.relative(process.cwd(), p).startsWith('..') ? p : path.relative(process.cwd(), p) || '.');

  await assertPortFree(redisPort, 'CLUSTER_REDIS_PORT');
  for (const port of ports) await assertPortFree(port, 'CLUSTER_PORTS');
  mkdirSync(redisDir, { recursive: true });
  const secretFile = path.join(dataDir, 'cluster-secret');
  const { secret, fromEnv } = clusterSecret(secretFile);

  const redis = start('redis', findRedis(), [
    '--bind', '127.0.0.1', '--port', String(redisPort), '--daemonize', 'no',
    '--dir', redisDir, '--pidfile', path.join(redisDir, 'redis.pid'),
    '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--loglevel', 'warning',
  ], process.env);
  await waitUntil(`Redis answered on port ${redisPort}`, redis, () => answersPing(redisPort), 10_000);
  const redisUrl = `redis://127.0.0.1:${redisPort}`;

  ensureBundle();
  const nodes = ports.map((port, i) => {
    const id = `node-${i + 1}`;
    const child = start(id, process.execPath, [...NODE_FLAGS, SERVER_BUNDLE], {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      NODE_ID: id,
      DATA_DIR: path.join(dataDir, id),
      REDIS_URL: redisUrl,
      JWT_SECRET: secret,
      PUBLIC_URL: `http://localhost:${port}`,
    });
    return { id, port, child };
  });
  await Promise.all(nodes.map(({ id, port, child }) => waitUntil(`${id} was ready on port ${port}`, child, () => isReady(port))));

  const first = `http://localhost:${nodes[0]!.port}`;
  say('\nHerald cluster is up:');
  const row = (name: string, url: string, pid: number | undefined) => `  ${name.padEnd(7)} ${url.padEnd(24)} pid ${pid}`;
  for (const { id, port, child } of nodes) say(row(id, `http://localhost:${port}`, child.process.pid));
  say(`${row('redis', redisUrl, redis.process.pid)}  (append-only file in ${shown(redisDir)})`);
  if ((process.env.JWT_ALGORITHM ?? 'HS256') === 'HS256') {
    const claims = { issuer: process.env.JWT_ISSUER, audience: process.env.JWT_AUDIENCE };
    const admin = signToken(secret, { sub: 'admin', roles: ['admin'], expiresIn: 12 * 3600 }, claims);
    const env = fromEnv ? '' : `JWT_SECRET=$(cat ${shown(secretFile)}) `;
    say(`  Admin UI (link valid 12 h): ${first}/admin/#token=${admin}`);
    say(`  Tokens: ${env}npm run -s token -- --sub alice --roles publisher`);
  }
  say(`  API docs: ${first}/api/docs`);
  say('Ctrl+C stops the nodes, then Redis.\n');

  // From here on, a child that dies takes the cluster down with a clear line.
  for (const child of children) {
    void child.exited.then((how) => {
      if (stopping) return;
      process.stderr.write(`cluster: ${child.name} exited (${how}); stopping the cluster\n`);
      void shutdown(1);
    });
  }
}

// npm, tsx and the terminal may each deliver the same Ctrl+C: repeats are ignored,
// and stop() kills whatever has not exited within its time limit.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(0));
// Should this script die of an error, it takes no child with it into the background.
process.on('exit', killAll);

main().catch((err: unknown) => {
  if (stopping) return; // a signal came during start-up and is stopping everything
  process.stderr.write(`cluster: ${err instanceof ClusterError ? err.message : (err as Error).stack}\n`);
  void shutdown(1);
});
