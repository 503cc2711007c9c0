import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { io as connectClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { signToken } from '../server/src/auth/token-verifier.js';
import type { Notification } from '../protocol/notification.js';
import type { ReadyPayload } from '../protocol/events.js';
import { eventually, freePort, nextEvent } from './helpers.js';
import { startNginx, type Nginx } from './nginx.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

interface ComposeService {
  image?: string;
  build?: string | { context: string };
  command?: string | string[];
  environment?: Record<string, string | number | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test: string | string[] };
  ports?: (string | { published: string | number; target: number })[];
  volumes?: (string | { source: string; target: string })[];
}
interface Compose {
  services: Record<string, ComposeService>;
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as Compose;
const service = (name: string): ComposeService => compose.services[name] ?? expect.fail(`no service "${name}"`);
const words = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(' ') : (value ?? ''));
function env(s: ComposeService): Record<string, string> {
  const list = Array.isArray(s.environment)
    ? s.environment.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])
    : Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v ?? '')]);
  return Object.fromEntries(list);
}
const NODES = ['herald-1', 'herald-2'];

describe('docker-compose.yml', () => {
  it('runs Redis, two Herald nodes and a load balancer', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['herald-1', 'herald-2', 'lb', 'redis']);
  });

  it('keeps Redis durable with the append-only file, on a volume, and health-checked with PING', () => {
    const redis = service('redis');
    expect(redis.image).toMatch(/^redis:7/);
    expect(words(redis.command)).toMatch(/--appendonly yes/);
    expect(words(redis.command)).toMatch(/--appendfsync everysec/);
    const mounts = (redis.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
    expect(mounts.some((m) => /^[\w-]+:\/data(:rw)?$/.test(m))).toBe(true);
    expect(words(redis.healthcheck?.test)).toMatch(/redis-cli ping/);
  });

  it.each(NODES)('builds %s from this repository, in production mode, on Redis', (name) => {
    const node = service(name);
    const build = typeof node.build === 'string' ? node.build : node.build?.context;
    expect(build).toBe('.');
    expect(env(node)).toMatchObject({ NODE_ENV: 'production', REDIS_URL: 'redis://redis:6379' });
  });

  it.each(NODES)('starts %s once Redis is healthy and checks it on /readyz', (name) => {
    const node = service(name);
    expect(node.depends_on).toMatchObject({ redis: { condition: 'service_healthy' } });
    expect(words(node.healthcheck?.test)).toMatch(/\/readyz/);
  });

  it.each(NODES)('gives %s the time to drain on SIGTERM (DRAIN_MS and SHUTDOWN_TIMEOUT_MS) before Docker kills it', (name) => {
    const grace = String((service(name) as { stop_grace_period?: string }).stop_grace_period ?? '10s');
    const seconds = Number(/^(\d+)s$/.exec(grace)?.[1] ?? 0);
    const nodeEnv = env(service(name));
    const drain = Number(nodeEnv.DRAIN_MS ?? 10_000) / 1000;
    const shutdown = Number(nodeEnv.SHUTDOWN_TIMEOUT_MS ?? 10_000) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(drain + Math.min(shutdown, 5));
  });

  it('names the nodes apart and makes JWT_SECRET a required variable for both', () => {
    const ids = NODES.map((name) => env(service(name)).NODE_ID);
    expect(ids.every(Boolean)).toBe(true);
    expect(new Set(ids).size).toBe(NODES.length);
    for (const name of NODES) expect(env(service(name)).JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?[^}]+\}$/);
  });

  it('publishes the load balancer on port 3000 with deploy/nginx.conf, after both nodes', () => {
    const lb = service('lb');
    expect(lb.image).toMatch(/^nginx:1\.27/);
    const ports = (lb.ports ?? []).map((p) => (typeof p === 'string' ? p : `${p.published}:${p.target}`));
    expect(ports).toContain('3000:80');
    const mounts = (lb.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
    expect(mounts.some((m) => /^\.\/deploy\/nginx\.conf:\/etc\/nginx\/nginx\.conf(:ro)?$/.test(m))).toBe(true);
    expect(Object.keys(lb.depends_on ?? {}).sort()).toEqual(NODES);
  });

  // `docker compose config` needs no engine: the compose plugin, or Debian's docker-compose
  // (which scripts/provision.sh installs when neither is there).
  const composeCommand = [['docker', 'compose'], ['docker-compose']].find(
    ([bin, ...args]) => spawnSync(bin!, [...args, 'version'], { stdio: 'ignore' }).status === 0,
  ) ?? ['docker-compose'];
  it('is valid for `docker compose config`, and refuses to run without JWT_SECRET', () => {
    const [bin, ...args] = composeCommand;
    const run = (extra: Record<string, string>) =>
      spawnSync(bin!, [...args, 'config', '-q'], { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: tmpdir(), ...extra } });
    expect(run({ JWT_SECRET: 'x'.repeat(48) }).status).toBe(0);
    const missing = run({});
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/set JWT_SECRET/);
  });
});

describe('deploy/nginx.conf', () => {
  const conf = read('deploy/nginx.conf').replace(/#.*$/gm, '');

  it('keeps every client on one node (long-polling needs it) across both upstream servers', () => {
    const upstream = /upstream\s+(\w+)\s*\{([^}]*)\}/.exec(conf);
    expect(upstream).not.toBeNull();
    expect(upstream![2]).toMatch(/^\s*(ip_hash|hash\s+\$remote_addr(\s+consistent)?)\s*;/m);
    expect(upstream![2]).toMatch(/server\s+herald-1:3000\b/);
    expect(upstream![2]).toMatch(/server\s+herald-2:3000\b/);
    expect(conf).toMatch(new RegExp(`proxy_pass\\s+http://${upstream![1]}\\s*;`));
  });

  it('passes WebSocket upgrades and the client address, on HTTP/1.1', () => {
    expect(conf).toMatch(/proxy_http_version\s+1\.1\s*;/);
    expect(conf).toMatch(/proxy_set_header\s+Upgrade\s+\$http_upgrade\s*;/);
    expect(conf).toMatch(/proxy_set_header\s+Connection\s+\$connection_upgrade\s*;/);
    expect(conf).toMatch(/map\s+\$http_upgrade\s+\$connection_upgrade/);
    expect(conf).toMatch(/proxy_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for\s*;/);
    expect(conf).toMatch(/proxy_set_header\s+X-Forwarded-Proto\s+\$scheme\s*;/);
    // The node compares a browser's Origin with Host: the port must survive.
    expect(conf).toMatch(/proxy_set_header\s+Host\s+\$http_host\s*;/);
    expect(conf).toMatch(/location\s+\/socket\.io\/\s*\{/);
  });

  it('hands a handshake that a node refuses with 503 (draining, overloaded) to the other node', () => {
    const socketIo = /location\s+\/socket\.io\/\s*\{([^}]*)\}/.exec(conf)?.[1] ?? '';
    expect(socketIo).toMatch(/proxy_next_upstream\s+[^;]*\bhttp_503\b[^;]*;/);
    expect(socketIo).toMatch(/proxy_next_upstream\s+[^;]*\berror\b[^;]*;/);
  });

  it('keeps idle connections open longer than pingInterval + pingTimeout (45 s)', () => {
    const timeouts = [...conf.matchAll(/proxy_read_timeout\s+(\d+)(s|m)?\s*;/g)].map((m) => Number(m[1]) * (m[2] === 'm' ? 60 : 1));
    expect(timeouts.length).toBeGreaterThan(0);
    for (const t of timeouts) expect(t).toBeGreaterThanOrEqual(45);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n').filter((l) => !l.trim().startsWith('#'));
  const instruction = (name: string) => lines.filter((l) => new RegExp(`^${name}\\s`, 'i').test(l.trim()));

  it('builds on node:20 bookworm-slim in stages, with a compiler for better-sqlite3 in the build stage only', () => {
    const from = instruction('FROM');
    expect(from.length).toBeGreaterThanOrEqual(2);
    for (const line of from) expect(line).toMatch(/node:20-bookworm-slim/);
    expect(dockerfile).toMatch(/python3 make g\+\+/);
    expect(dockerfile).toMatch(/npm ci/);
  });

  it('builds the server bundle and runs it as a non-root user, with its data in /data', () => {
    const user = instruction('USER').at(-1);
    expect(user).toBeDefined();
    expect(user!.trim().split(/\s+/)[1]).not.toMatch(/^(root|0)(:|$)/);
    expect(dockerfile).toMatch(/DATA_DIR=\/data/);
    expect(instruction('RUN').join('\n')).toMatch(/node scripts\/build-server\.mjs/);
    expect(instruction('COPY').join('\n')).toMatch(/--from=build \/app\/dist\/server /);
    const cmd = instruction('CMD').at(-1) ?? '';
    expect(cmd).toMatch(/dist\/server\/main\.mjs/);
    // `npm start` would run the prestart build, which needs the dev dependencies.
    expect(cmd).not.toMatch(/npm/);
  });

  it('exposes port 3000, checks /readyz and stops on SIGTERM', () => {
    expect(instruction('EXPOSE').join(' ')).toMatch(/\b3000\b/);
    expect(instruction('HEALTHCHECK').join(' ')).toMatch(/\/readyz/);
    expect(instruction('STOPSIGNAL').join(' ')).toMatch(/SIGTERM/);
  });

  it('copies only files that exist and that .dockerignore lets through', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const sources = instruction('COPY')
      .filter((l) => !/--from=/.test(l))
      .flatMap((l) => l.trim().split(/\s+/).slice(1, -1))
      .filter((s) => s !== '.' && !s.startsWith('--'));
    expect(sources).toContain('package-lock.json');
    for (const source of sources) {
      expect(existsSync(path.join(root, source)), source).toBe(true);
      expect(ignored.some((pattern) => source === pattern || source.startsWith(`${pattern}/`)), source).toBe(false);
    }
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'data', '.git']));
  });
});


/** Whether nothing listens on a loopback port. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function waitForExit(child: ChildProcess, ms: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('npm run cluster (scripts/cluster.ts)', () => {
  const hasRedis = existsSync('/usr/bin/redis-server') || spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  let script: ChildProcess | undefined;
  let output = '';
  let dataDir = '';
  let ports: [number, number];
  let redisPort: number;
  let secret = '';
  /** The PIDs the script printed: node-1, node-2 and redis. */
  const pids = new Map<string, number>();
  const clients: Socket[] = [];

  const url = (port: number) => `http://127.0.0.1:${port}`;
  const token = (sub: string, roles: string[] = []) => signToken(secret, { sub, roles });
  async function connect(base: string, sub: string, opts: Parameters<typeof connectClient>[1] = {}): Promise<{ socket: Socket; ready: ReadyPayload }> {
    const socket = connectClient(base, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: token(sub) }, ...opts });
    clients.push(socket);
    const ready = await new Promise<ReadyPayload>((resolve, reject) => {
      socket.once('ready', resolve);
      socket.once('connect_error', reject);
    });
    return { socket, ready };
  }
  async function publish(port: number, body: unknown): Promise<{ id: string }> {
    const res = await fetch(`${url(port)}/api/notifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token('svc', ['publisher'])}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(202);
    return (await res.json()) as { id: string };
  }

  beforeAll(async () => {
    // scripts/provision.sh installs redis-server; without it this fails here, loudly.
    expect(hasRedis).toBe(true);
    dataDir = mkdtempSync(path.join(tmpdir(), 'herald-cluster-'));
    ports = [await freePort(), await freePort()];
    redisPort = await freePort();
    const { JWT_SECRET: _ignored, ...inherited } = process.env;
    script = spawn(process.execPath, ['--import', 'tsx', 'scripts/cluster.ts'], {
      cwd: root,
      // Its own process group, so that afterAll can end whatever is left of it.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...inherited, CLUSTER_PORTS: ports.join(','), CLUSTER_REDIS_PORT: String(redisPort), CLUSTER_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    });
    script.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    script.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually(() => output.includes('Ctrl+C stops') || script!.exitCode !== null, 90_000, 100);
    expect(script.exitCode, output).toBeNull();
    for (const [, name, pid] of output.matchAll(/^ {2}(node-\d+|redis)\s+\S+\s+pid (\d+)/gm)) pids.set(name!, Number(pid));
    secret = readFileSync(path.join(dataDir, 'cluster-secret'), 'utf8').trim();
  }, 100_000);

  afterAll(async () => {
    for (const socket of clients) socket.disconnect();
    if (script?.pid !== undefined && script.exitCode === null) {
      process.kill(-script.pid, 'SIGTERM');
      await waitForExit(script, 20_000).catch(() => process.kill(-script!.pid!, 'SIGKILL'));
    }
    // The children run in process groups of their own: end any survivor by its PID.
    for (const pid of pids.values()) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('starts Redis and two nodes that answer /readyz, and prints their PIDs, an admin link and the token command', async () => {
    expect([...pids.keys()].sort()).toEqual(['node-1', 'node-2', 'redis']);
    for (const port of ports) expect((await fetch(`${url(port)}/readyz`)).status).toBe(200);
    expect(output).toMatch(/npm run -s token -- --sub/);
    const admin = /\/admin\/#token=(\S+)/.exec(output)?.[1];
    expect(admin).toBeDefined();
    // The link's token is an admin token the nodes accept, and both nodes see each other.
    await eventually(async () => {
      const res = await fetch(`${url(ports[1])}/api/admin/stats`, { headers: { authorization: `Bearer ${admin}` } });
      return res.status === 200 && ((await res.json()) as { nodes: unknown[] }).nodes.length === 2;
    }, 10_000, 100);
  });

  it('delivers through Redis: published on node-1, received by a socket on node-2', async () => {
    const { socket, ready } = await connect(url(ports[1]), 'alice');
    expect(ready.node).toBe('node-2');
    const received = nextEvent<Notification>(socket, 'notification', 5000);
    const { id } = await publish(ports[0], { to: { user: 'alice' }, title: 'across nodes' });
    expect(await received).toMatchObject({ id, stream: 'user:alice', title: 'across nodes' });
  });

  // The real deploy/nginx.conf in front of the two nodes (Debian's nginx-light, installed by scripts/provision.sh).
  describe('behind deploy/nginx.conf', () => {
    let nginx: Nginx | undefined;
    let lbPort: number;

    beforeAll(async () => {
      nginx = await startNginx(ports);
      lbPort = Number(new URL(nginx.url).port);
    }, 30_000);

    afterAll(async () => {
      await nginx?.stop();
    });

    it('serves REST and readiness through the balancer', async () => {
      expect((await fetch(`${url(lbPort)}/readyz`)).status).toBe(200);
      expect((await fetch(`${url(lbPort)}/api/openapi.json`)).status).toBe(200);
    });

    it('keeps long-polling clients on one node, spread by address over both, and delivers to them', async () => {
      // Each client comes from its own loopback address; a polling session whose
      // requests reached the other node would fail with "Session ID unknown".
      const users = Array.from({ length: 12 }, (_, i) => `poller-${i}`);
      const polling = await Promise.all(
        users.map((user, i) =>
          connect(url(lbPort), user, { transports: ['polling'], agent: new Agent({ localAddress: `127.0.0.${i + 2}` }) as unknown as string }),
        ),
      );
      expect(new Set(polling.map((p) => p.ready.node))).toEqual(new Set(['node-1', 'node-2']));
      const received = Promise.all(polling.map((p) => nextEvent<Notification>(p.socket, 'notification', 5000)));
      await publish(ports[0], { to: { users }, title: 'over long-polling' });
      expect((await received).map((n) => n.title)).toEqual(users.map(() => 'over long-polling'));
      for (const p of polling) expect(p.socket.io.engine.transport.name).toBe('polling');
    });

    it('upgrades a browser-like client from polling to WebSocket on its own origin', async () => {
      const { socket } = await connect(url(lbPort), 'browser', { transports: ['polling', 'websocket'], extraHeaders: { origin: url(lbPort) } });
      await eventually(() => socket.io.engine.transport.name === 'websocket', 5000);
      const received = nextEvent<Notification>(socket, 'notification', 5000);
      await publish(ports[1], { to: { user: 'browser' }, title: 'after the upgrade' });
      expect(await received).toMatchObject({ title: 'after the upgrade' });
    });
  });

  it('stops both nodes, then Redis, on SIGTERM, and leaves the AOF behind', async () => {
    for (const socket of clients) socket.disconnect();
    process.kill(script!.pid!, 'SIGTERM');
    expect(await waitForExit(script!, 30_000)).toBe(0);
    for (const [name, pid] of pids) expect(isRunning(pid), `${name} (pid ${pid})`).toBe(false);
    for (const port of [...ports, redisPort]) expect(await portIsFree(port), `port ${port}`).toBe(true);
    expect(existsSync(path.join(dataDir, 'cluster-redis', 'appendonlydir'))).toBe(true);
    expect(output.indexOf('stopping Redis')).toBeGreaterThan(output.indexOf('stopping the nodes'));
  }, 40_000);
});
