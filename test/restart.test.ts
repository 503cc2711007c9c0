import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SERVER_BUNDLE } from '../scripts/server-bundle.js';
import { NODE_FLAGS } from '../server/src/node-flags.js';
import { signToken } from '../server/src/auth/token-verifier.js';
import type { Notification } from '../protocol/notification.js';
import { SECRET, startServer, type TestServer } from './helpers.js';

interface FeedBody {
  items: Notification[];
  unreadCount: number;
  nextCursor: number | null;
}

/** Every item of `user`'s feed, newest first, paged 100 at a time. */
async function wholeFeed(server: TestServer, user: string): Promise<FeedBody> {
  const items: Notification[] = [];
  let before: number | null = null;
  let unreadCount: number;
  do {
    const res = await server.request('GET', `/api/me/notifications?limit=100${before === null ? '' : `&before=${before}`}`, { token: server.token(user) });
    expect(res.status).toBe(200);
    const page = (await res.json()) as FeedBody;
    items.push(...page.items);
    unreadCount = page.unreadCount;
    before = page.nextCursor;
  } while (before !== null);
  return { items, unreadCount, nextCursor: null };
}

/** Publishes through REST and resolves the status and, on 202, the id. */
async function publish(url: string, token: string, to: unknown, title: string): Promise<{ status: number; id?: string }> {
  const res = await fetch(`${url}/api/notifications`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ to, title }),
  });
  const body = (await res.json()) as { id?: string };
  return { status: res.status, ...(body.id ? { id: body.id } : {}) };
}

describe('restarting on the same data folder', () => {
  const servers: TestServer[] = [];
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    for (const server of servers.splice(0)) await server.close({ keepData: true });
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function start(dataDir?: string): Promise<TestServer> {
    const server = await startServer(dataDir ? { DATA_DIR: dataDir } : {});
    servers.push(server);
    if (!dataDir) dirs.push(server.dataDir);
    return server;
  }

  async function stop(server: TestServer): Promise<void> {
    servers.splice(servers.indexOf(server), 1);
    await server.close({ keepData: true });
  }

  it('keeps every notification, read state, unread count and subscription, and keeps seqs increasing', async () => {
    const first = await start();
    const publisher = first.token('svc', { roles: ['publisher'] });
    const alice = first.token('alice');
    expect((await first.request('PUT', '/api/me/subscriptions/news', { token: alice })).status).toBe(200);
    const targets = [{ user: 'alice' }, { all: true }, { topic: 'news' }, { users: ['alice', 'bob'] }];
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => publish(first.url, publisher, targets[i % 4], `n${i}`)));
    expect(replies.map((r) => r.status)).toEqual(Array(200).fill(202));
    const published = replies.map((r) => r.id!);

    const before = await wholeFeed(first, 'alice');
    expect(before.items).toHaveLength(200);
    const readIds = published.slice(0, 30);
    const read = await first.request('POST', '/api/me/notifications/read', { token: alice, body: { ids: readIds } });
    expect(await read.json()).toEqual({ unreadCount: 170 });
    const afterRead = await wholeFeed(first, 'alice');
    await stop(first);

    const second = await start(first.dataDir);
    const feed = await wholeFeed(second, 'alice');
    expect(new Set(feed.items.map((n) => n.id))).toEqual(new Set(published));
    expect(feed.items).toEqual(afterRead.items);
    expect(feed.items.filter((n) => n.readAt !== null).map((n) => n.id).sort()).toEqual([...readIds].sort());
    expect(feed.unreadCount).toBe(170);
    expect((await wholeFeed(second, 'bob')).items).toHaveLength(100);
    const subs = await second.request('GET', '/api/me/subscriptions', { token: second.token('alice') });
    expect(await subs.json()).toEqual({ topics: ['news'] });
    const { ready } = await second.connect('alice');
    expect(ready.topics).toEqual(['news']);
    expect(ready.unreadCount).toBe(170);

    const highest = Math.max(...feed.items.map((n) => n.seq));
    const next = await publish(second.url, second.token('svc', { roles: ['publisher'] }), { topic: 'news' }, 'after the restart');
    expect(next.status).toBe(202);
    const newest = (await wholeFeed(second, 'alice')).items[0]!;
    expect(newest.id).toBe(next.id);
    expect(newest.seq).toBeGreaterThan(highest);
  });

  it('keeps mark-all-read across a restart and counts later notifications as unread', async () => {
    const first = await start();
    const publisher = first.token('svc', { roles: ['publisher'] });
    for (let i = 0; i < 5; i++) expect((await publish(first.url, publisher, { user: 'alice' }, `n${i}`)).status).toBe(202);
    const read = await first.request('POST', '/api/me/notifications/read', { token: first.token('alice'), body: { all: true } });
    expect(await read.json()).toEqual({ unreadCount: 0 });
    await stop(first);

    const second = await start(first.dataDir);
    const feed = await wholeFeed(second, 'alice');
    expect(feed.unreadCount).toBe(0);
    expect(feed.items.every((n) => n.readAt !== null)).toBe(true);
    await publish(second.url, second.token('svc', { roles: ['publisher'] }), { user: 'alice' }, 'new');
    expect((await wholeFeed(second, 'alice')).unreadCount).toBe(1);
  });

  it('keeps every notification acknowledged with 202 when closed while publishes are in flight', async () => {
    const first = await start();
    const publisher = first.token('svc', { roles: ['publisher'] });
    const acknowledged: string[] = [];
    let closing: Promise<void> | undefined;
    const inFlight = Array.from({ length: 150 }, (_, i) =>
      publish(first.url, publisher, { user: 'alice' }, `n${i}`).then((reply) => {
        if (reply.status === 202) acknowledged.push(reply.id!);
        if (acknowledged.length === 50) closing ??= stop(first);
      }),
    );
    await Promise.allSettled(inFlight);
    await (closing ?? stop(first));
    expect(acknowledged.length).toBeGreaterThanOrEqual(50);

    const second = await start(first.dataDir);
    const stored = new Set((await wholeFeed(second, 'alice')).items.map((n) => n.id));
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
  });

  it('keeps every notification acknowledged with 202 when the process is killed with SIGKILL', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'herald-kill-'));
    dirs.push(dataDir);
    const child = spawn(process.execPath, [...NODE_FLAGS, SERVER_BUNDLE], {
      cwd: path.resolve(import.meta.dirname, '..'),
      env: { ...process.env, JWT_SECRET: SECRET, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', NODE_ENV: 'test' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no start-up line: ${out}`)), 15_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /running on http:\/\/localhost:(\d+)/.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    const url = `http://127.0.0.1:${port}`;
    const publisher = signToken(SECRET, { sub: 'svc', roles: ['publisher'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const acknowledged: string[] = [];
    const inFlight = Array.from({ length: 200 }, (_, i) =>
      publish(url, publisher, { user: 'alice' }, `n${i}`).then((reply) => {
        if (reply.status === 202) acknowledged.push(reply.id!);
        if (acknowledged.length === 80) child.kill('SIGKILL');
      }),
    );
    await Promise.allSettled(inFlight);
    await exited;
    expect(child.signalCode).toBe('SIGKILL');
    expect(acknowledged.length).toBeGreaterThanOrEqual(80);

    const server = await start(dataDir);
    const stored = new Set((await wholeFeed(server, 'alice')).items.map((n) => n.id));
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
  });
});
