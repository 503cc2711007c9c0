/**
 * vitest fixtures for a running Herald: a test names what it needs and gets it
 * started, and stopped after it, without a set-up and tear-down of its own.
 *
 * - `herald`: one node, in this process, on a fresh SQLite folder;
 * - `redis`: a redis-server child on a free loopback port, one per file;
 * - `cluster`: `clusterSize` nodes (3 or more) on that Redis (emptied first), each with its NODE_ID.
 *
 * `heraldEnv` adds environment to every node; override it for a `describe` with
 * `test.override('heraldEnv', { … })`.
 *
 * @example
 * import { expect, test } from './kit/fixtures.js';
 *
 * test('a user gets what is published to them', async ({ herald }) => {
 *   const { socket } = await herald.connect('ann');
 *   const { id } = await herald.publish({ to: { user: 'ann' }, title: 'Hi' });
 *   expect(await nextEvent(socket, 'notification')).toMatchObject({ id });
 * });
 */
import { Redis } from 'ioredis';
import { test as base } from 'vitest';
import { eventually, startServer, type TestServer } from '../helpers.js';
import { startRedis, type RedisProcess } from '../redis-server.js';

export { describe, expect } from 'vitest';

/** How quickly the nodes of a test cluster see one another come and go. */
export const CLUSTER_ENV = { NODE_HEARTBEAT_MS: '100', NODE_TIMEOUT_MS: '600', REDIS_REQUESTS_TIMEOUT_MS: '1500' };

/** The nodes of a test cluster: at least three. */
export type Cluster = [TestServer, TestServer, TestServer, ...TestServer[]];

export const test = base
  .extend('heraldEnv', {} as Record<string, string>)
  .extend('herald', async ({ heraldEnv }, { onCleanup }) => {
    const server = await startServer(heraldEnv);
    onCleanup(() => server.close());
    return server;
  })
  // vitest reads a fixture's dependencies from its first parameter's pattern: this one has none.
  // eslint-disable-next-line no-empty-pattern
  .extend('redis', { scope: 'file' }, async ({}, { onCleanup }): Promise<RedisProcess> => {
    const redis = await startRedis();
    onCleanup(() => redis.stop());
    return redis;
  })
  .extend('clusterSize', 3)
  .extend('cluster', async ({ redis, heraldEnv, clusterSize }, { onCleanup }): Promise<Cluster> => {
    if (clusterSize < 3) throw new Error(`a test cluster has at least three nodes, not ${clusterSize}`);
    const client = new Redis(redis.url);
    await client.flushall();
    client.disconnect();
    const ids = Array.from({ length: clusterSize }, (_, i) => `node-${String.fromCharCode(97 + i)}`);
    const nodes = await Promise.all(ids.map((id) => startServer({ ...CLUSTER_ENV, ...heraldEnv, REDIS_URL: redis.url, NODE_ID: id })));
    onCleanup(() => Promise.all(nodes.map((node) => node.close())).then(() => undefined));
    // Every node has seen every other one's heartbeat.
    const first = nodes[0]!;
    const admin = first.api.as(first.token('fixture-admin', { roles: ['admin'] }));
    await eventually(async () => (await admin.ok('getAdminStats', {})).nodes.length === clusterSize, 5000);
    return nodes as Cluster;
  });
