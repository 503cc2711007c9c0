import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { healthProbe, missing, publishToStorm, StormClients } from '../../bench/lib/storm.js';
import { metric } from '../helpers.js';
import { PROCESS_SECRET, startHeraldProcess, type HeraldProcess } from '../herald-process.js';

const SOCKETS = 10_000;
const STORED = 5_000;
const DURING = 1_000;

describe('a reconnect storm (SPEC §8)', () => {
  let herald: HeraldProcess | undefined;
  let storm: StormClients | undefined;
  afterEach(async () => {
    await storm?.stop();
    await herald?.dispose();
    herald = storm = undefined;
  });

  it('brings 10,000 sockets back after a SIGKILL and restart, each with everything it missed, while /healthz keeps answering', async () => {
    const node = (herald = await startHeraldProcess({ env: { API_RATE_PER_SEC: '0' } }));
    const users = Array.from({ length: SOCKETS }, (_, i) => `storm-${i}`);
    storm = new StormClients(2);
    const clients = storm;
    await clients.connect({ kind: 'herald', url: node.url, users, secret: PROCESS_SECRET });
    // Ten thousand handshakes at once are refused past the burst of 2,000 and come back with backoff.
    await clients.untilLive(SOCKETS, 90_000);
    const published = await publishToStorm(node, users, STORED, 0);
    for (let i = 0; i < 100 && missing(published, users, await clients.received()) > 0; i++) await sleep(200);
    expect(missing(published, users, await clients.received())).toBe(0);

    // /healthz every 50 ms from here to the end, from a process of its own: none may go unanswered.
    const probe = healthProbe(node.url);
    await probe.ready;
    await node.stop('SIGKILL');
    await clients.untilDown(10_000);
    await node.restart();
    const during = await publishToStorm(node, users, DURING, STORED);
    await clients.untilLive(SOCKETS, 90_000);
    for (const [id, to] of during) published.set(id, to);
    for (let i = 0; i < 150 && missing(published, users, await clients.received()) > 0; i++) await sleep(200);
    const health = await probe.stop();

    const status = await clients.status();
    expect(status.live).toBe(SOCKETS);
    // Each socket had its `ready` at least twice: before the kill and after the restart.
    expect(status.readies).toBeGreaterThanOrEqual(2 * SOCKETS);
    expect(missing(published, users, await clients.received())).toBe(0);
    expect(await metric(node.url, 'herald_connections')).toBe(SOCKETS);
    // The restarted node read the recovery of its 10,000 sockets in shared store rounds, not one each
    // (one each would make the rounds as many as the catch-ups). How many share a round depends on
    // how closely they arrive, which depends on the machine: 2.0 to 3.0 on average in the runs on
    // record. How rounds are formed is pinned in test/read-batcher.test.ts.
    const rounds = await metric(node.url, 'herald_catch_up_batch_size_count');
    const catchUps = await metric(node.url, 'herald_catch_up_batch_size_sum');
    expect(catchUps).toBeGreaterThanOrEqual(SOCKETS);
    expect(rounds).toBeLessThan(catchUps * 0.8);
    // Every probe answered (an unanswered one counts as 5 s); the benchmark holds the latency to
    // a target (npm run bench, phase storm), a test only to this.
    expect(health.count).toBeGreaterThan(20);
    expect(health.max).toBeLessThan(5_000_000);
  }, 240_000);
});
