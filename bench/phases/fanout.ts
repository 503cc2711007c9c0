/**
 * Fan-out: one ~200-byte message to N connected clients (socket.io-client over
 * WebSocket; raw `ws` clients for the raw server), through raw `ws` broadcast,
 * bare Socket.IO `io.to(room).emit`, and Herald's topic notification published
 * with `POST /api/notifications`.
 */
import { ClientPool } from '../lib/client-pool.js';
import { profiler, quiet, sleep, type Context } from '../lib/context.js';
import { measureFanout, type FanoutResult } from '../lib/fanout-loop.js';
import { inParallel } from '../lib/http.js';
import { BENCH_TOPIC, benchNotification, heraldPublishBody } from '../lib/message.js';
import { BENCH_SECRET, bearer, SERVER_NAMES, startBaseline, startHerald, type HeraldHandle, type ServerHandle, type ServerKind } from '../lib/servers.js';
import { median } from '../lib/median.js';

/** Subscribes users u<from>…u<to-1> to the bench topic through Herald's REST API (persistent subscriptions). */
export async function subscribeUsers(herald: Pick<HeraldHandle, 'http' | 'publisherToken'>, from: number, to: number): Promise<void> {
  await inParallel(to - from, 32, async (i) => {
    const res = await herald.http.send('PUT', `/api/users/u${from + i}/subscriptions/${BENCH_TOPIC}`, undefined, bearer(herald.publisherToken));
    if (res.status !== 200) throw new Error(`subscribing u${from + i}: ${res.status} ${res.body}`);
  });
}

/** The publish function of a server: Herald's REST route, or the baselines' `POST /publish`. */
export function fanoutPublisher(server: ServerHandle): (k: number, t: number) => Promise<number> {
  return server.kind === 'herald'
    ? (k, t) => server.publishFanout(heraldPublishBody({ topic: BENCH_TOPIC }, k, t, 'f'))
    : (k, t) => server.publishFanout(benchNotification(k, t, 'f'));
}

export function logFanout(ctx: Context, label: string, kind: ServerKind, r: FanoutResult): void {
  const other = r.otherCores >= 0.15 ? `; other load took ${r.otherCores.toFixed(2)} cores` : '';
  ctx.log(
    `  ${SERVER_NAMES[kind]} ${label}: ${Math.round(r.deliveriesPerSec)} deliveries/s (${r.messagesPerSec.toFixed(1)} msg/s), ` +
      `p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, ${r.cpuMicrosPerDelivery.toFixed(2)} µs CPU/delivery, ` +
      `server ${r.serverCores.toFixed(2)} cores, clients ${r.clientMicrosPerDelivery.toFixed(2)} µs CPU/delivery, ${r.clients} clients, ` +
      `lost ${r.lost}, publish errors ${r.publishErrors}${other}`,
  );
}

/** Adds a fan-out result to the table (and its troubles to the notes). */
export function recordFanout(ctx: Context, section: string, kind: ServerKind, r: FanoutResult): void {
  const { results } = ctx;
  results.add({ section, measure: 'deliveries/s', unit: '/s', better: 'higher', values: { [kind]: r.deliveriesPerSec }, key: true });
  results.add({ section, measure: 'latency p50', unit: 'ms', better: 'lower', values: { [kind]: r.p50Ms } });
  results.add({ section, measure: 'latency p99', unit: 'ms', better: 'lower', values: { [kind]: r.p99Ms }, key: true });
  results.add({ section, measure: 'server CPU per delivery', unit: 'µs', better: 'lower', values: { [kind]: r.cpuMicrosPerDelivery }, key: true });
  if (r.lost > 0 || r.publishErrors > 0) {
    results.notes.push(`${SERVER_NAMES[kind]} ${section}: ${r.lost} messages incomplete after 10 s, ${r.publishErrors} publish errors`);
  }
  if (r.otherCores >= 0.15) results.notes.push(`${SERVER_NAMES[kind]} ${section}: other load on the machine (other processes, hypervisor steal) took up to ${r.otherCores.toFixed(2)} cores during a window`);
}

const KINDS = ['ws', 'sio', 'herald'] as const;

/** Each figure the median of the rounds (so one disturbed round does not decide). */
function medianResult(rounds: FanoutResult[]): FanoutResult {
  const m = (f: (r: FanoutResult) => number) => median(rounds.map(f));
  return {
    deliveriesPerSec: m((r) => r.deliveriesPerSec),
    messagesPerSec: m((r) => r.messagesPerSec),
    p50Ms: m((r) => r.p50Ms),
    p99Ms: m((r) => r.p99Ms),
    cpuMicrosPerDelivery: m((r) => r.cpuMicrosPerDelivery),
    serverCores: m((r) => r.serverCores),
    clientMicrosPerDelivery: m((r) => r.clientMicrosPerDelivery),
    otherCores: Math.max(...rounds.map((r) => r.otherCores)),
    lost: rounds.reduce((s, r) => s + r.lost, 0),
    publishErrors: rounds.reduce((s, r) => s + r.publishErrors, 0),
    clients: Math.min(...rounds.map((r) => r.clients)),
  };
}

/**
 * All three servers run at once, each with its own clients, and the measured
 * windows alternate between them (ws, Socket.IO, Herald, then rotated), so that
 * a change in the machine's other load touches all three alike; each figure is
 * the median of the rounds. Then one message at a time, for latency unloaded.
 */
export async function fanoutPhase(ctx: Context): Promise<void> {
  const { fanout } = ctx.scale;
  const maxN = Math.max(...fanout.ns);
  // The client processes boot while the servers start; each server's clients come from their own source addresses.
  const pools = new Map(KINDS.map((kind) => [kind, new ClientPool(fanout.workers, `fanout-${kind}`)]));
  const servers = new Map<ServerKind, ServerHandle>();
  try {
    const starting = await Promise.allSettled(KINDS.map(async (kind) => servers.set(kind, kind === 'herald' ? await startHerald() : await startBaseline(kind))));
    const failed = starting.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    await subscribeUsers(servers.get('herald') as HeraldHandle, 0, maxN);
    for (const n of fanout.ns) {
      for (const kind of KINDS) {
        const pool = pools.get(kind)!;
        const added = n - pool.sockets;
        const { ms } = await pool.connect({ kind, url: servers.get(kind)!.url, count: added, secret: BENCH_SECRET });
        ctx.log(`fan-out: ${SERVER_NAMES[kind]}: ${n} clients connected (${ms} ms for the last ${added})`);
      }
      await sleep(fanout.settleMs);
      const rounds = new Map<ServerKind, FanoutResult[]>(KINDS.map((k) => [k, []]));
      for (let round = 0; round < fanout.rounds; round++) {
        const order = KINDS.map((_, i) => KINDS[(i + round) % KINDS.length]!);
        for (const kind of order) {
          const server = servers.get(kind)!;
          const pool = pools.get(kind)!;
          await quiet(ctx, `${SERVER_NAMES[kind]} fan-out N=${n}`);
          // One profile per server and N, of the last round.
          const profile = profiler(ctx, server.inspector, `fanout-${kind}-${n}`);
          const profiled = round === fanout.rounds - 1;
          const result = await measureFanout({
            window: fanout.window,
            warmupMs: fanout.warmupMs,
            measureMs: fanout.measureMs,
            publish: fanoutPublisher(server),
            pool,
            serverPids: [server.pid],
            allPids: ctx.allPids(),
            ...(profiled ? { around: { start: profile.start, stop: async () => void (await profile.stop()) } } : {}),
          });
          rounds.get(kind)!.push(result);
          logFanout(ctx, `fan-out N=${n} round ${round + 1}`, kind, result);
        }
      }
      for (const kind of KINDS) recordFanout(ctx, `fan-out N=${n}`, kind, medianResult(rounds.get(kind)!));
      // Unloaded: one message in flight at a time.
      for (const kind of KINDS) {
        const server = servers.get(kind)!;
        await quiet(ctx, `${SERVER_NAMES[kind]} one message at a time, N=${n}`);
        const result = await measureFanout({
          window: 1,
          warmupMs: Math.min(500, fanout.warmupMs),
          measureMs: fanout.unloadedMs,
          publish: fanoutPublisher(server),
          pool: pools.get(kind)!,
          serverPids: [server.pid],
          allPids: ctx.allPids(),
        });
        const section = `fan-out N=${n}`;
        ctx.results.add({ section, measure: 'latency p50, 1 message in flight', unit: 'ms', better: 'lower', values: { [kind]: result.p50Ms } });
        ctx.results.add({ section, measure: 'latency p99, 1 message in flight', unit: 'ms', better: 'lower', values: { [kind]: result.p99Ms } });
        ctx.log(`  ${SERVER_NAMES[kind]} N=${n}, one message at a time: p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms`);
      }
    }
  } finally {
    await Promise.all([...pools.values()].map((pool) => pool.stop()));
    await Promise.all([...servers.values()].map((server) => server.stop()));
  }
  for (const n of fanout.ns) {
    const section = `fan-out N=${n}`;
    const herald = ctx.results.value(section, 'deliveries/s', 'herald');
    const sio = ctx.results.value(section, 'deliveries/s', 'sio');
    const ws = ctx.results.value(section, 'deliveries/s', 'ws');
    const cpuH = ctx.results.value(section, 'server CPU per delivery', 'herald');
    const cpuS = ctx.results.value(section, 'server CPU per delivery', 'sio');
    const r = (a?: number, b?: number) => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
    const show = (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(2)}×`);
    const tput = r(herald, sio);
    const cpu = r(cpuH, cpuS);
    const vsWs = r(herald, ws);
    ctx.results.target({ name: `${section}: Herald deliveries/s vs bare Socket.IO`, measured: show(tput), goal: '≥ 0.95×', met: tput === undefined ? undefined : tput >= 0.95 });
    ctx.results.target({ name: `${section}: Herald CPU per delivery vs bare Socket.IO`, measured: show(cpu), goal: '≤ 1.1×', met: cpu === undefined ? undefined : cpu <= 1.1 });
    ctx.results.target({ name: `${section}: Herald deliveries/s vs raw ws (aim)`, measured: show(vsWs), goal: '≈ 0.8×', met: vsWs === undefined ? undefined : vsWs >= 0.8 });
  }
}
