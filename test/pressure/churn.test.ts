import { setTimeout as sleep } from 'node:timers/promises';
import { io as connectClient } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { AdminStats } from '../../protocol/admin.js';
import { metric } from '../helpers.js';
import { startHeraldProcess, type HeraldProcess } from '../herald-process.js';

const CYCLES = 20_000;
const LANES = 40;

describe('bounded state (SPEC §8)', () => {
  let herald: HeraldProcess | undefined;
  afterEach(async () => {
    await herald?.dispose();
    herald = undefined;
  });

  it('returns to where it was after 20,000 connect-authenticate-disconnect cycles of distinct users', async () => {
    // No handshake limit and no overload refusals: the cycles go as fast as the machine allows, and a
    // collection pause past OVERLOAD_LAG_MS on a busy CI machine does not refuse a cycle (admission is
    // tested on its own; this test is about what stays behind).
    const node = (herald = await startHeraldProcess({
      inspect: true,
      env: { MAX_HANDSHAKES_PER_SEC: '0', OVERLOAD_LAG_MS: '0', API_RATE_PER_SEC: '1000' },
    }));
    const publisher = node.token('svc', { roles: ['publisher'] });
    /** One user's whole visit: connect, a topic of their own, now and then REST calls with their token and an idempotency key, gone. */
    const cycle = async (n: number) => {
      const user = `churn-${n}`;
      const token = node.token(user);
      const socket = connectClient(node.url, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token } });
      try {
        await new Promise((resolve, reject) =>
          socket.once('ready', resolve).once('connect_error', (error) => reject(new Error(`cycle ${n}: connect_error ${error.message}`))),
        );
        const ack = (await socket.timeout(5000).emitWithAck('subscribe', { topic: `room-${n}` })) as { ok: boolean };
        expect(ack.ok).toBe(true);
        if (n % 20 === 0) {
          const feed = await fetch(`${node.url}/api/me/notifications`, { headers: { authorization: `Bearer ${token}` } });
          expect(feed.status).toBe(200);
          const sent = await fetch(`${node.url}/api/notifications`, {
            method: 'POST',
            headers: { authorization: `Bearer ${publisher}`, 'content-type': 'application/json', 'idempotency-key': `churn-${n}` },
            body: JSON.stringify({ to: { user }, title: 'hello' }),
          });
          expect(sent.status).toBe(202);
        }
      } finally {
        socket.disconnect();
      }
    };
    let next = 0;
    const run = async (until: number) => {
      await Promise.all(
        Array.from({ length: LANES }, async () => {
          while (next < until) await cycle(next++);
        }),
      );
      // The server has seen every disconnect once its counts are back at zero.
      for (let i = 0; i < 100 && (await metric(node.url, 'herald_connections')) > 0; i++) await sleep(50);
      await sleep(1000);
    };
    await run(1000);
    // What stays, not what the next collection would free: a full GC before each reading.
    await node.collectGarbage();
    const afterFirst = node.rss();
    await run(CYCLES);
    await node.collectGarbage();
    const afterAll = node.rss();
    expect(next).toBe(CYCLES);
    expect(afterAll).toBeLessThan(afterFirst * 1.15);

    const stats = (await (
      await fetch(`${node.url}/api/admin/stats`, { headers: { authorization: `Bearer ${node.token('ops', { roles: ['admin'] })}` } })
    ).json()) as AdminStats;
    expect(stats).toMatchObject({ connections: 0, users: 0, rooms: 0, topics: 0 });
    expect(stats.nodes[0]!.connections).toBe(0);
    expect(await metric(node.url, 'herald_connections')).toBe(0);
    expect(await metric(node.url, 'herald_users_online')).toBe(0);
  }, 180_000);
});
