/**
 * Cluster: Herald's topic fan-out with Redis (`@socket.io/redis-adapter` and the
 * Redis store), on one node and on two nodes with the clients split between
 * them, against the single embedded node of the fan-out phase.
 */
import { startRedis } from '../../test/redis-server.js';
import { onCleanup } from '../lib/children.js';
import { ClientPool } from '../lib/client-pool.js';
import { profiler, quiet, sleep, type Context } from '../lib/context.js';
import { measureFanout } from '../lib/fanout-loop.js';
import { cpuMicros, findPid } from '../lib/proc.js';
import { BENCH_SECRET, startHerald, type HeraldHandle } from '../lib/servers.js';
import { fanoutPublisher, subscribeUsers } from './fanout.js';

export async function clusterPhase(ctx: Context): Promise<void> {
  const { cluster } = ctx.scale;
  const redis = await startRedis();
  const forget = onCleanup(() => void redis.stop());
  // Redis runs outside the benchmark's child registry: find it to charge its CPU separately.
  const redisPid = findPid(['redis-server', `:${redis.port}`]);
  const section = (nodes: number) => `cluster ${nodes} node${nodes > 1 ? 's' : ''} + Redis, N=${cluster.n}`;
  try {
    let subscribed = false;
    for (const nodes of [1, 2]) {
      ctx.log(`cluster: ${nodes} node(s) + Redis, ${cluster.n} clients`);
      const started: HeraldHandle[] = [];
      const pool = new ClientPool(2, `cluster${nodes}`);
      try {
        const starting = Array.from({ length: nodes }, (_, i) =>
          startHerald({ name: `herald-node-${i + 1}`, env: { REDIS_URL: redis.url, NODE_ID: `bench-node-${i + 1}` } }),
        );
        // Keep every node that started, even if another failed, so that `finally` stops it.
        const settled = await Promise.allSettled(starting);
        for (const s of settled) if (s.status === 'fulfilled') started.push(s.value);
        const failed = settled.find((s) => s.status === 'rejected');
        if (failed) throw failed.reason;
        if (!subscribed) {
          await subscribeUsers(started[0]!, 0, cluster.n);
          subscribed = true;
        }
        // Worker i connects to node i (mod the number of nodes): half of the clients on each node.
        const { ms } = await pool.connect({ kind: 'herald', url: (w) => started[w % nodes]!.url, count: cluster.n, secret: BENCH_SECRET });
        ctx.log(`  ${cluster.n} clients connected in ${ms} ms`);
        await sleep(500);
        await quiet(ctx, `cluster ${nodes}`);
        const profile = profiler(ctx, started[0]!.inspector, `cluster-${nodes}-node-publisher`);
        const redisBefore = redisPid === undefined ? 0 : cpuMicros(redisPid);
        const windowStarted = Date.now();
        const result = await measureFanout({
          window: cluster.window,
          warmupMs: cluster.warmupMs,
          measureMs: cluster.measureMs,
          publish: fanoutPublisher(started[0]!),
          pool,
          serverPids: started.map((h) => h.pid),
          allPids: redisPid === undefined ? ctx.allPids() : [...ctx.allPids(), redisPid],
          around: { start: profile.start, stop: async () => void (await profile.stop()) },
        });
        // Redis's CPU over the whole fan-out run (warm-up included), as cores.
        const redisCores = redisPid === undefined ? Number.NaN : (cpuMicros(redisPid) - redisBefore) / 1e6 / ((Date.now() - windowStarted) / 1000);
        const s = section(nodes);
        const other = result.otherCores >= 0.15 ? `; other load ${result.otherCores.toFixed(2)} cores` : '';
        ctx.results.add({ section: s, measure: 'deliveries/s', unit: '/s', better: 'higher', values: { herald: result.deliveriesPerSec } });
        ctx.results.add({ section: s, measure: 'latency p50', unit: 'ms', better: 'lower', values: { herald: result.p50Ms } });
        ctx.results.add({ section: s, measure: 'latency p99', unit: 'ms', better: 'lower', values: { herald: result.p99Ms } });
        ctx.results.add({
          section: s,
          measure: 'server CPU per delivery',
          unit: 'µs',
          better: 'lower',
          values: { herald: result.cpuMicrosPerDelivery },
          note: `all Herald nodes together, ${result.serverCores.toFixed(2)} cores; Redis (not included) ${redisCores.toFixed(2)} cores; lost ${result.lost}${other}`,
        });
        ctx.log(
          `  ${Math.round(result.deliveriesPerSec)} deliveries/s, p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms, ` +
            `${result.cpuMicrosPerDelivery.toFixed(2)} µs CPU/delivery (nodes), lost ${result.lost}${other}`,
        );
      } finally {
        await pool.stop();
        await Promise.all(started.map((h) => h.stop()));
      }
    }
  } finally {
    await redis.stop();
    forget();
  }
}
