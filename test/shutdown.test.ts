import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { io as connectClient } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { SERVER_BUNDLE } from '../scripts/server-bundle.js';
import { NODE_FLAGS } from '../server/src/node-flags.js';
import { signToken } from '../server/src/auth/token-verifier.js';
import { eventually, freePort, nextEvent, SECRET, sleep, startServer, type TestClient, type TestServer } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));


const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/** Resolves with the exit of `child`, or rejects after `ms`. */
function exitOf(child: ChildProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (exited(child)) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process did not exit within ${ms} ms`)), ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** SIGKILLs the process group led by `pid`; a group that is already gone is fine. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

describe('shutting down the real entry point', () => {
  const children: ChildProcess[] = [];
  const clients: TestClient[] = [];
  let dataDir: string | undefined;
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
    for (const child of children.splice(0)) {
      // The child leads its own process group (detached); end that group only.
      if (child.pid !== undefined) killGroup(child.pid);
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    dataDir = undefined;
  });

  /** Starts the server's bundle as `npm start` does and waits until `/readyz` answers 200. */
  async function startHerald(port: number, dir: string): Promise<{ child: ChildProcess; url: string; output: () => string }> {
    const child = spawn(process.execPath, [...NODE_FLAGS, SERVER_BUNDLE], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_ENV: 'development', HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dir, JWT_SECRET: SECRET, LOG_LEVEL: 'warn' },
    });
    children.push(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const url = `http://127.0.0.1:${port}`;
    await eventually(
      async () => {
        if (exited(child)) throw new Error(`herald exited during start-up:\n${output}`);
        return (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200;
      },
      20_000,
      100,
    );
    return { child, url, output: () => output };
  }

  it('disconnects clients, exits 0, refuses new requests on SIGTERM, and keeps the published notifications for the next start', async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'herald-shutdown-'));
    const port = await freePort();
    const first = await startHerald(port, dataDir);
    const aliceToken = signToken(SECRET, { sub: 'alice' });
    const publisher = signToken(SECRET, { sub: 'svc', roles: ['publisher'] });

    const socket: TestClient = connectClient(first.url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: aliceToken } });
    clients.push(socket);
    await nextEvent(socket, 'ready', 5000);
    const live = nextEvent<{ id: string }>(socket, 'notification', 5000);
    const ids: string[] = [];
    for (const title of ['before shutdown 1', 'before shutdown 2']) {
      const res = await fetch(`${first.url}/api/notifications`, {
        method: 'POST',
        headers: { authorization: `Bearer ${publisher}`, 'content-type': 'application/json' },
        body: JSON.stringify({ to: { user: 'alice' }, title }),
      });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    expect((await live).id).toBe(ids[0]);

    const disconnected = nextEvent(socket, 'disconnect', 8000);
    const exit = exitOf(first.child, 5000);
    first.child.kill('SIGTERM');
    await disconnected;
    expect(socket.connected).toBe(false);
    expect(await exit, first.output()).toEqual({ code: 0, signal: null });
    await expect(fetch(`${first.url}/healthz`)).rejects.toThrow();

    const second = await startHerald(await freePort(), dataDir);
    const feed = await fetch(`${second.url}/api/me/notifications`, { headers: { authorization: `Bearer ${aliceToken}` } });
    expect(feed.status).toBe(200);
    const items = ((await feed.json()) as { items: { id: string; title: string }[] }).items;
    expect(items.map((n) => n.id).sort()).toEqual([...ids].sort());
    expect(items.map((n) => n.title).sort()).toEqual(['before shutdown 1', 'before shutdown 2']);
    const exitAgain = exitOf(second.child, 5000);
    second.child.kill('SIGTERM');
    expect(await exitAgain).toEqual({ code: 0, signal: null });
  }, 60_000);
});

describe('closing in process', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('closes safely when close() is called twice, disconnecting every socket', async () => {
    const running = (server = await startServer());
    const { socket } = await running.connect('alice');
    const disconnected = nextEvent(socket, 'disconnect');
    await Promise.all([running.herald.close(), running.herald.close()]);
    await expect(running.herald.close()).resolves.toBeUndefined();
    await disconnected;
    expect(running.herald.http.listening).toBe(false);
    await expect(fetch(`${running.url}/healthz`)).rejects.toThrow();
  });

  it('answers /readyz with 503 unavailable once closing has begun', async () => {
    const running = (server = await startServer());
    const { port } = new URL(running.url);
    const raw = tcpConnect(Number(port), '127.0.0.1');
    let response = '';
    raw.on('data', (chunk: Buffer) => (response += chunk.toString()));
    try {
      await new Promise<void>((resolve, reject) => raw.once('connect', resolve).once('error', reject));
      // A request whose headers are still arriving keeps its connection open through close().
      raw.write('GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      await sleep(50);
      const closing = running.herald.close();
      raw.write('\r\n');
      await eventually(() => /\r\n\r\n.*\}/s.test(response), 3000);
      expect(response).toMatch(/^HTTP\/1\.1 503 /);
      expect(response).toContain('"code":"unavailable"');
      raw.destroy();
      await closing;
    } finally {
      raw.destroy();
    }
  });
});
