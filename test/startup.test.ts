import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { io as connectClient, type Socket } from 'socket.io-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEV_SECRET_FILE } from '../server/src/auth/dev-secret.js';
import { SERVER_BUNDLE } from '../scripts/server-bundle.js';
import { NODE_FLAGS } from '../server/src/node-flags.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const ADMIN_LINK = /\/admin\/#token=([A-Za-z0-9_.-]+)/;

interface Spawned {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or signal) once the process has ended; rejects after `ms`. */
  exited: (ms: number) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A port that was free a moment ago (the server cannot listen on 0: main uses PORT as given). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves when `check` returns a value, or rejects with `what` after `ms`. */
async function waitFor<T>(what: string, check: () => T | undefined, ms: number): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('starting Herald from its entry point', () => {
  let dataDir: string;
  let spawned: Spawned[];
  let sockets: Socket[];

  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'herald-startup-'));
    spawned = [];
    sockets = [];
  });

  afterEach(async () => {
    for (const socket of sockets) socket.disconnect();
    for (const { child } of spawned) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue;
      // tsx runs a script in a child process of its own: end the whole group this test started, by its id.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    }
    await Promise.all(spawned.map((p) => p.exited(5000).catch(() => undefined)));
    rmSync(dataDir, { recursive: true, force: true });
  });

  /**
   * Runs a script from the repo root with only the variables given (plus PATH and HOME):
   * TypeScript through tsx, the server's bundle as `npm start` does.
   */
  function run(script: string, env: Record<string, string>, args: string[] = []): Spawned {
    const [command, argv] = script.endsWith('.ts') ? [TSX, [script, ...args]] : [process.execPath, [...NODE_FLAGS, script, ...args]];
    const child = spawn(command, argv, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), TMPDIR: tmpdir(), DATA_DIR: dataDir, ...env },
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    const exited = (ms: number) =>
      Promise.race([
        done,
        new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`${script} did not exit within ${ms} ms`)), ms).unref()),
      ]);
    const p: Spawned = { child, stdout: () => out, stderr: () => err, exited };
    spawned.push(p);
    return p;
  }

  /** Starts the server without JWT_SECRET and resolves with its URL and the token of the admin link. */
  async function startDev(env: Record<string, string> = {}) {
    const port = await freePort();
    const server = run(SERVER_BUNDLE, { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env });
    const adminToken = await waitFor(
      'the admin link',
      () => {
        if (server.child.exitCode !== null) throw new Error(`server exited with ${server.child.exitCode}: ${server.stderr()}`);
        return ADMIN_LINK.exec(server.stdout())?.[1];
      },
      15_000,
    );
    return { server, url: `http://127.0.0.1:${port}`, adminToken };
  }

  it('prints an admin link and keeps a development secret in DATA_DIR when JWT_SECRET is unset', async () => {
    const { server, adminToken } = await startDev();
    const line = server.stdout().split('\n').find((l) => l.includes('/admin/#token='));
    expect(line).toBeDefined();
    const secretFile = path.join(dataDir, DEV_SECRET_FILE);
    expect(existsSync(secretFile)).toBe(true);
    const secret = readFileSync(secretFile, 'utf8').trim();
    expect(secret.length).toBeGreaterThanOrEqual(32);
    // The link's token is signed with the secret kept in the data folder.
    const claims = jwt.verify(adminToken, secret, { algorithms: ['HS256'] }) as jwt.JwtPayload;
    expect(claims.roles).toContain('admin');
    expect(server.stdout()).not.toContain(secret);
  });

  it('accepts the token of the admin link on GET /api/admin/stats', async () => {
    const { url, adminToken } = await startDev();
    const res = await fetch(`${url}/api/admin/stats`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toHaveProperty('connections');
  });

  it('prints with the token command a publisher token the running server accepts', async () => {
    const { url } = await startDev();
    const command = run('scripts/token.ts', {}, ['--sub', 'alice', '--roles', 'publisher']);
    const { code } = await command.exited(15_000);
    expect(code).toBe(0);
    const token = command.stdout().trim();
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(jwt.decode(token)).toMatchObject({ sub: 'alice', roles: ['publisher'] });
    const res = await fetch(`${url}/api/notifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: { user: 'bob' }, title: 'Hello from the token command' }),
    });
    expect(res.status).toBe(202);
  });

  it('answers a token command it cannot read with one line and its usage, not a stack trace', async () => {
    for (const args of [['alice'], ['--sub', 'alice', '--bogus', '1'], []]) {
      const command = run('scripts/token.ts', {}, args);
      const { code } = await command.exited(15_000);
      expect(code, args.join(' ')).toBe(1);
      expect(command.stdout()).toBe('');
      const lines = command.stderr().trim().split('\n');
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(lines[0]).toMatch(/^token: .+; usage: npm run token -- --sub alice --roles publisher/);
    }
  });

  it('refuses to start in production without JWT_SECRET, with one line naming it', async () => {
    const port = await freePort();
    const server = run(SERVER_BUNDLE, { NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1' });
    const { code } = await server.exited(15_000);
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const lines = server.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('JWT_SECRET');
    expect(server.stdout()).not.toContain('/admin/#token=');
    expect(readdirSync(dataDir)).not.toContain(DEV_SECRET_FILE);
  });

  it('refuses to start with PORT=abc, with one line naming PORT', async () => {
    const server = run(SERVER_BUNDLE, { PORT: 'abc', HOST: '127.0.0.1' });
    const { code } = await server.exited(15_000);
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const lines = server.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('PORT');
  });

  it('exits 0 within a few seconds of SIGTERM, disconnecting its sockets', async () => {
    const { server, url, adminToken } = await startDev();
    const socket = connectClient(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: adminToken } });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('socket did not connect')), 5000);
      socket.once('connect', () => (clearTimeout(timer), resolve()));
      socket.once('connect_error', (err) => (clearTimeout(timer), reject(err)));
    });
    const disconnected = new Promise<void>((resolve) => socket.once('disconnect', () => resolve()));
    server.child.kill('SIGTERM');
    const { code, signal } = await server.exited(5000);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    await expect(Promise.race([disconnected, new Promise((_r, reject) => setTimeout(() => reject(new Error('no disconnect')), 2000))])).resolves.toBeUndefined();
  });
});
