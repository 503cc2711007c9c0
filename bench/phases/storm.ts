/**
 * Reconnect storm (SPEC §8): N sockets connected to one server, the server
 * SIGKILLed and started again on the same port (and, for Herald, the same data
 * folder), and every socket reconnecting by itself with socket.io-client's
 * default backoff. Herald's clients follow their feed as the README's client
 * does (`auth.lastSeq`, paging `sync`) while notifications keep being published
 * through the storm; bare Socket.IO's just reconnect (no recovery), the
 * baseline. Measured per server: the time from the kill, and from the new
 * process listening, until every socket is back; the connect errors the
 * clients saw; the server's event-loop delay (p99, max) and RSS peak during the
 * storm; `/healthz` latency through it; and, for Herald, what was lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../test/free-port.js';
import { metric } from '../../test/helpers.js';
import { startHeraldProcess, PROCESS_SECRET, type HeraldProcess } from '../../test/herald-process.js';
import { NODE_FLAGS } from '../../server/src/node-flags.js';
import { ensureBundle } from '../../scripts/server-bundle.js';
import { profiler, type Context } from '../lib/context.js';
import { Inspector } from '../lib/inspector.js';
import { median } from '../lib/median.js';
import { cpuMicros, rssBytes } from '../lib/proc.js';
import { onCleanup } from '../lib/children.js';
import { ROOT, SERVER_NAMES } from '../lib/servers.js';
import { healthProbe, missing as lost, publishToStorm as publish, StormClients } from '../lib/storm.js';

interface StormServer {
  url: string;
  readonly pid: number;
  readonly inspector: Inspector | undefined;
  kill(): Promise<void>;
  /** Starts again on the same port; resolves once it answers. */
  restart(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * Bare Socket.IO (bench/servers/socketio-server.ts), restartable on its port, with an inspector.
 * Bundled as Herald is (scripts/build-server.mjs), so that both restart from plain JavaScript.
 */
async function bareSocketIo(): Promise<StormServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess;
  let inspector: Inspector | undefined;
  ensureBundle({ entry: 'bench/servers/socketio-server.ts', out: 'dist/bench' });
  const start = async () => {
    let out = '';
    child = spawn(process.execPath, [`--inspect=127.0.0.1:${await freePort()}`, ...NODE_FLAGS, 'dist/bench/socketio-server.mjs'], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port), NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    for (let i = 0; (await fetch(`${url}/healthz`).then((r) => r.status, () => 0)) !== 200; i++) {
      if (i > 600 || child.exitCode !== null) throw new Error(`Socket.IO did not start: ${out}`);
      await sleep(50);
    }
    inspector = await Inspector.connect(/Debugger listening on (ws:\/\/\S+)/.exec(out)![1]!);
  };
  const kill = async () => {
    inspector?.close();
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url,
    get pid() {
      return child.pid!;
    },
    get inspector() {
      return inspector;
    },
    kill,
    restart: start,
    dispose: kill,
  };
}

async function herald(): Promise<{ server: StormServer; node: HeraldProcess }> {
  // As the benchmark runs Herald elsewhere: production mode, no REST rate limit, no per-user cap; the edge limits at their defaults.
  const node = await startHeraldProcess({
    inspect: true,
    env: { NODE_ENV: 'production', API_RATE_PER_SEC: '0', MAX_CONNECTIONS_PER_USER: '1000000', RETENTION_PER_STREAM: '1000000' },
  });
  const server: StormServer = {
    url: node.url,
    get pid() {
      return node.pid;
    },
    get inspector() {
      return node.inspector;
    },
    kill: async () => {
      node.inspector?.close();
      await node.stop('SIGKILL');
    },
    restart: () => node.restart(),
    dispose: () => node.dispose(),
  };
  return { server, node };
}

/** One storm's figures, by measure (see the rows of `stormPhase`). */
type Figures = Record<string, number>;

async function oneStorm(ctx: Context, kind: 'sio' | 'herald', users: string[], round: number): Promise<Figures> {
  const { storm } = ctx.scale;
  const clients = new StormClients(2, `storm-${kind}-${round}`);
  let server: StormServer | undefined;
  const forget = onCleanup(() => void server?.dispose());
  try {
    const started = kind === 'herald' ? await herald() : { server: await bareSocketIo(), node: undefined };
    server = started.server;
    const node = started.node;
    await clients.connect({ kind, url: server.url, users, ...(kind === 'herald' ? { secret: PROCESS_SECRET } : {}) });
    await clients.untilLive(storm.n, storm.timeoutMs);
    const published = node ? await publish(node, users, storm.stored, 0) : new Map<string, string[] | 'all'>();
    if (node) for (let i = 0; i < 200 && lost(published, users, await clients.received()) > 0; i++) await sleep(100);
    await sleep(500);
    const before = await clients.status();
    // /healthz every 50 ms through the storm, from a process of its own (the driver is busy checking receipts).
    const probe = healthProbe(server.url);
    await probe.ready;

    const killedAt = Date.now();
    await server.kill();
    await clients.untilDown(10_000);
    const downAt = Date.now();
    await server.restart();
    const listeningAt = Date.now();
    const clientCpuBefore = clients.pids.reduce((sum, pid) => sum + cpuMicros(pid), 0);
    const serverCpuBefore = cpuMicros(server.pid);
    await server.inspector!.startLoopProbe();
    // BENCH_PROFILE=1: the restarted server's CPU, from listening until every socket is back.
    const cpu = profiler(ctx, server.inspector!, `storm-${kind}-${round}`);
    await cpu.start();
    let rssPeak = rssBytes(server.pid);
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        rssPeak = Math.max(rssPeak, rssBytes(server!.pid));
        await sleep(100);
      }
    })();
    const during = node ? publish(node, users, storm.during, storm.stored) : Promise.resolve(new Map<string, string[] | 'all'>());
    const timeline: string[] = [];
    const backAt = await clients.untilLive(storm.n, storm.timeoutMs, timeline);
    const clientCpu = (clients.pids.reduce((sum, pid) => sum + cpuMicros(pid), 0) - clientCpuBefore) / 1e6;
    const serverCpu = (cpuMicros(server.pid) - serverCpuBefore) / 1e6;
    const loop = await server.inspector!.readLoop();
    await cpu.stop();
    sampling = false;
    await sampler;
    for (const [id, to] of await during) published.set(id, to);
    let missing = 0;
    if (node) {
      for (let i = 0; i < 300 && (missing = lost(published, users, await clients.received())) > 0; i++) await sleep(100);
    }
    const health = await probe.stop();
    const after = await clients.status();
    const figures: Figures = {
      'kill → every socket back': (backAt - killedAt) / 1000,
      'listening → every socket back': (backAt - listeningAt) / 1000,
      'connect errors seen by the clients': after.connectErrors - before.connectErrors,
      'event-loop delay p99 in the storm': loop.delayP99Ms,
      'event-loop delay max in the storm': loop.delayMaxMs,
      'longest GC pause in the storm': loop.gcMaxMs,
      'RSS peak in the storm': rssPeak / 2 ** 20,
      'server CPU, listening → every socket back': serverCpu,
      'client CPU (two processes), listening → every socket back': clientCpu,
      '/healthz p99 through the storm': health.quantile(0.99) / 1000,
      '/healthz max through the storm': health.max / 1000,
    };
    if (node) {
      for (const reason of ['rate', 'overload'] as const) {
        figures[`handshakes refused: ${reason}`] = await metric(node.url, `herald_handshakes_refused_total{reason="${reason}"}`);
      }
      // The process is new: its histogram holds the storm's reads only.
      const rounds = await metric(node.url, 'herald_catch_up_batch_size_count');
      figures['sockets per catch-up store round (mean)'] = rounds > 0 ? (await metric(node.url, 'herald_catch_up_batch_size_sum')) / rounds : 0;
      figures['notifications lost (stored + during the storm)'] = missing;
      figures.published = published.size;
    }
    ctx.log(
      `  ${SERVER_NAMES[kind]}, round ${round}: all back ${figures['kill → every socket back']!.toFixed(1)} s after the kill ` +
        `(${figures['listening → every socket back']!.toFixed(1)} s after listening), /healthz max ${figures['/healthz max through the storm']!.toFixed(0)} ms`,
    );
    const errorKinds = Object.entries(after.errors ?? {})
      .map(([kind, count]) => [kind, count - (before.errors?.[kind] ?? 0)] as const)
      .filter(([, count]) => count > 0)
      .sort((a, b) => b[1] - a[1]);
    ctx.log(`    connect errors by kind: ${errorKinds.map(([kind, count]) => `${count} × ${kind}`).join('; ') || 'none'}`);
    ctx.log(`    kill → all seen down ${((downAt - killedAt) / 1000).toFixed(1)} s, → listening ${((listeningAt - downAt) / 1000).toFixed(1)} s`);
    ctx.log(`    sockets live/connected at each second after listening: ${timeline.join(' ')}`);
    return figures;
  } finally {
    await clients.stop();
    await server?.dispose();
    forget();
  }
}

const UNITS: Record<string, string> = { s: 's', count: 'count', ms: 'ms', MB: 'MB' };
const unitOf = (measure: string) =>
  measure.includes('CPU') ? 'CPU s' : measure.includes('→') ? UNITS.s! : measure.includes('errors') || measure.includes('refused') || measure.includes('per catch-up') || measure.includes('lost') ? UNITS.count! : measure.includes('RSS') ? UNITS.MB! : UNITS.ms!;

export async function stormPhase(ctx: Context): Promise<void> {
  const { storm } = ctx.scale;
  const section = `reconnect storm, N=${storm.n}`;
  const users = Array.from({ length: storm.n }, (_, i) => `storm-${i}`);
  const rounds: Record<'sio' | 'herald', Figures[]> = { sio: [], herald: [] };
  // Rounds alternate between the servers, so that a change in the machine's other load touches both.
  for (let round = 1; round <= storm.rounds; round++) {
    for (const kind of ['sio', 'herald'] as const) {
      ctx.log(`storm: ${SERVER_NAMES[kind]}, ${storm.n} sockets, round ${round} of ${storm.rounds}`);
      rounds[kind].push(await oneStorm(ctx, kind, users, round));
    }
  }
  for (const kind of ['sio', 'herald'] as const) {
    for (const measure of Object.keys(rounds[kind][0] ?? {})) {
      if (measure === 'published') continue;
      const values = rounds[kind].map((f) => f[measure]!);
      ctx.results.add({
        section,
        measure: `${measure}${storm.rounds > 1 ? ' (median)' : ''}`,
        unit: unitOf(measure),
        values: { [kind]: measure.includes('lost') ? Math.max(...values) : median(values) },
        better: 'lower',
        key: measure === 'kill → every socket back',
      });
    }
  }
  const herald = rounds.herald;
  if (herald.length > 0) {
    const lostMax = Math.max(...herald.map((f) => f['notifications lost (stored + during the storm)']!));
    const published = herald.reduce((sum, f) => sum + f.published!, 0);
    ctx.results.target({ name: `storm: nothing lost (${published.toLocaleString('en-US')} notifications)`, measured: String(lostMax), goal: '0', met: lostMax === 0 });
    const healthMax = median(herald.map((f) => f['/healthz max through the storm']!));
    ctx.results.target({ name: 'storm: /healthz within 100 ms throughout (median of the rounds\' max)', measured: `${healthMax.toFixed(0)} ms`, goal: '< 100 ms', met: healthMax < 100 });
  }
  if (rounds.sio.length > 0 && herald.length > 0) {
    const key = 'kill → every socket back';
    const ratio = median(herald.map((f) => f[key]!)) / median(rounds.sio.map((f) => f[key]!));
    ctx.results.target({ name: 'storm: Herald back within 1.5× of bare Socket.IO (medians)', measured: `${ratio.toFixed(2)}×`, goal: '≤ 1.5×', met: ratio <= 1.5 });
  }
}
