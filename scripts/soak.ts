/**
 * `npm run soak`: a bounded chaos run against real processes (SPEC §8). Users
 * hold socket.io-clients written exactly as the README's socket example
 * (scripts/soak/follow-feed.ts), publishers send at a steady rate to every kind
 * of target, and a schedule of faults hits the deployment: random transport
 * drops, clients offline long enough to miss more than a page, a stalled
 * reader, a SIGKILL and restart of a node and, with `--cluster`, a Redis
 * restart (append-only file on). Every 202 and every receipt is recorded; the
 * run ends with `lost L, duplicates D, out of order O` and exits 1 unless lost
 * and out of order are 0.
 *
 *   npm run soak                              # one node, 10 minutes
 *   npm run soak -- --cluster                 # two nodes behind nginx, Redis (AOF)
 *   npm run soak -- --duration 60 --users 100 --rate 40
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket as TcpSocket } from 'node:net';
import type { Socket } from 'socket.io-client';
import { deploy, type Deployment } from './soak/deployment.js';
import { followFeed } from './soak/follow-feed.js';
import { Ledger, type ClientRecord, type Recipients } from './soak/ledger.js';

interface Options {
  durationSec: number;
  cluster: boolean;
  users: number;
  /** Publish requests per second. */
  rate: number;
}

function parseOptions(argv: string[]): Options {
  const value = (flag: string, fallback: number) => {
    const i = argv.indexOf(flag);
    if (i < 0) return fallback;
    const n = Number(argv[i + 1]);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number`);
    return n;
  };
  return { durationSec: value('--duration', 600), cluster: argv.includes('--cluster'), users: value('--users', 200), rate: value('--rate', 60) };
}

const started = performance.now();
/** Times in the ledger are since the start of the run. */
const sinceStart = () => performance.now() - started;
const elapsed = () => sinceStart() / 1000;
const log = (line: string) => process.stdout.write(`[${elapsed().toFixed(1).padStart(6)} s] ${line}\n`);
const TOPICS = ['t0', 't1', 't2', 't3', 't4'];
const BULK = 'bulk';
/** About 15 KB: what fills a stalled reader's buffers quickly. */
const BULK_DATA = { blob: 'x'.repeat(15_000) };

interface Client {
  record: ClientRecord;
  socket: Socket;
  offline: boolean;
}

function tcpOf(socket: Socket): TcpSocket | undefined {
  return (socket.io.engine?.transport as unknown as { ws?: { _socket?: TcpSocket } } | undefined)?.ws?._socket;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const deployment: Deployment = await deploy(opts.cluster);
  const stopOnSignal = () => void deployment.stop().then(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  let exitCode: number;
  try {
    exitCode = await run(opts, deployment);
  } finally {
    await deployment.stop();
  }
  process.exit(exitCode);
}

async function run(opts: Options, deployment: Deployment): Promise<number> {
  const { nodes } = deployment;
  const users = Array.from({ length: opts.users }, (_, i) => `soak-${i}`);
  const ledger = new Ledger(users, !opts.cluster, sinceStart);
  const publisher = nodes[0]!.token('soak-publisher', { roles: ['publisher'], expiresIn: 24 * 3600 });
  log(`soak: ${opts.cluster ? '2 nodes behind nginx, Redis with AOF' : '1 node'}; ${opts.users} users; ${opts.rate} publishes/s; ${opts.durationSec} s`);

  // Subscriptions are fixed before the first publish: a topic's recipients are known.
  const subscribe = async (user: string, topic: string) => {
    const res = await fetch(`${nodes[0]!.url}/api/users/${user}/subscriptions/${topic}`, { method: 'PUT', headers: { authorization: `Bearer ${publisher}` } });
    if (res.status !== 200) throw new Error(`subscribing ${user} to ${topic}: ${res.status}`);
    if (!ledger.subscribers.has(topic)) ledger.subscribers.set(topic, new Set());
    ledger.subscribers.get(topic)!.add(user);
  };
  for (const [i, user] of users.entries()) {
    await subscribe(user, TOPICS[i % TOPICS.length]!);
    if (i % 3 === 0) await subscribe(user, TOPICS[(i + 2) % TOPICS.length]!);
    if (i < 5) await subscribe(user, BULK);
  }

  // One socket per user, two for every tenth; in a cluster each from a loopback address of its own (nginx hashes by address).
  const clients: Client[] = [];
  for (const [i, user] of users.entries()) {
    for (let k = 0; k < (i % 10 === 0 ? 2 : 1); k++) {
      const n = clients.length;
      const record = ledger.client(user);
      let resumePoint = 0;
      const socket = followFeed(deployment.entry, {
        token: () => {
          ledger.note(record, `connecting with lastSeq ${resumePoint}`);
          return nodes[0]!.token(user, { expiresIn: 24 * 3600 });
        },
        show: (entry, via) => ledger.shown(record, entry, via),
        saveLastSeq: (seq) => (resumePoint = seq),
        lastSeq: 0,
        socket: {
          transports: ['websocket'],
          forceNew: true,
          reconnectionDelay: 500,
          reconnectionDelayMax: 3000,
          ...(opts.cluster ? { localAddress: `127.0.${30 + Math.floor(n / 200)}.${(n % 200) + 2}` } : {}),
        } as Parameters<typeof followFeed>[1]['socket'],
      });
      // Raw arrivals, for the duplicate count: live events and `ready.missed` items (followFeed drops the repeats).
      socket.on('notification', (entry: { id: string }) => ledger.arrived(record, entry));
      socket.on('disconnect', (reason) => ledger.note(record, `disconnect (${reason})`));
      socket.onAnyOutgoing((event: string, body: { afterSeq?: number }) => {
        if (event === 'sync') ledger.note(record, `sync after ${body.afterSeq}`);
      });
      socket.on('ready', (ready: { node?: string; missed: { id: string; seq: number }[]; hasMore: boolean }) => {
        const range = ready.missed.length > 0 ? `${ready.missed[0]!.seq}..${ready.missed.at(-1)!.seq}` : 'none';
        ledger.note(record, `ready on ${ready.node ?? '?'}: missed ${ready.missed.length} (${range}), hasMore ${ready.hasMore}`);
        ledger.page(record, ready.missed);
        for (const entry of ready.missed) ledger.arrived(record, entry);
      });
      clients.push({ record, socket, offline: false });
    }
  }
  const connected = () => clients.filter((c) => c.socket.connected).length;
  for (let i = 0; connected() < clients.length; i++) {
    if (i > 600) throw new Error(`only ${connected()} of ${clients.length} clients connected`);
    await sleep(50);
  }
  log(`${clients.length} clients connected`);

  // Publishers: a steady rate, every kind of target; only 202s are owed.
  let publishing = true;
  let inFlight = 0;
  let tick = 0;
  const pickTarget = (k: number): Recipients => {
    const r = k % 20;
    if (r < 7) return { users: [users[(k * 7919) % users.length]!] };
    if (r < 11) return { users: Array.from({ length: 3 + (k % 8) }, (_, j) => users[(k * 31 + j * 97) % users.length]!).filter((u, j, all) => all.indexOf(u) === j) };
    if (r < 15) return { topic: TOPICS[k % TOPICS.length]! };
    return { all: true };
  };
  const send = async (to: Recipients, extra: object = {}) => {
    const live = nodes.filter((n) => n.running);
    const node = live[tick % Math.max(1, live.length)] ?? nodes[0]!;
    const body = { to: 'users' in to && to.users.length === 1 ? { user: to.users[0] } : to, title: `soak ${tick}`, ...extra };
    const sentAt = sinceStart();
    inFlight++;
    try {
      const res = await fetch(`${node.url}/api/notifications`, {
        method: 'POST',
        headers: { authorization: `Bearer ${publisher}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status === 202) ledger.acknowledged.push({ id: ((await res.json()) as { id: string }).id, to, sentAt });
      else ledger.unacknowledged++;
    } catch {
      ledger.unacknowledged++; // the node went away mid-request, or was down: not acknowledged
    } finally {
      inFlight--;
    }
  };
  const publishers = (async () => {
    const interval = 1000 / opts.rate;
    for (let next = performance.now(); publishing; next += interval) {
      if (inFlight < 100) void send(pickTarget(tick++));
      await sleep(Math.max(0, next + interval - performance.now()));
    }
  })();

  // Memory over time.
  const memory: string[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      memory.push(`${elapsed().toFixed(0)} s: ${nodes.map((n) => (n.running ? `${(n.rss() / 2 ** 20).toFixed(0)} MB` : 'down')).join(' / ')}`);
      // Twenty readings in a run, at least five seconds apart.
      for (let i = 0; i < Math.max(50, opts.durationSec / 2) && sampling; i++) await sleep(100);
    }
  })();

  // The fault schedule, as fractions of the run.
  const duration = opts.durationSec * 1000;
  const at = (fraction: number) => started + Math.max(5000, fraction * duration);
  const faults: { when: number; what: string; run: () => Promise<string> }[] = [
    { when: at(0.15), what: 'stalled reader', run: () => stall(clients, nodes, send) },
    { when: at(0.35), what: `SIGKILL ${opts.cluster ? 'soak-1' : 'the node'}`, run: () => killAndRestart(nodes[0]!) },
  ];
  if (opts.cluster) faults.push({ when: at(0.6), what: 'Redis restart (AOF)', run: () => restartRedis(deployment) });
  if (opts.durationSec >= 300) faults.push({ when: at(0.8), what: `SIGKILL ${opts.cluster ? 'soak-2' : 'the node'} again`, run: () => killAndRestart(nodes[nodes.length - 1]!) });
  const endAt = started + duration;
  let drops = 0;
  let offline = 0;
  let lastDrop = performance.now();
  let lastOffline = performance.now();
  const pending = [...faults].sort((a, b) => a.when - b.when);
  const running: Promise<void>[] = [];
  while (performance.now() < endAt) {
    const now = performance.now();
    while (pending[0] && now >= pending[0].when) {
      const fault = pending.shift()!;
      log(`fault: ${fault.what}`);
      running.push(fault.run().then((outcome) => void log(`fault: ${fault.what}: ${outcome}`)));
    }
    if (now - lastDrop >= 3000) {
      // 10 % of the connections lose their transport (the TCP connection is cut).
      lastDrop = now;
      const victims = clients.filter((c) => !c.offline && c.socket.connected).filter((_, i) => (i + drops) % 10 === 0);
      for (const c of victims) tcpOf(c.socket)?.destroy();
      drops += victims.length;
    }
    if (now - lastOffline >= 4000 && now < endAt - 12_000) {
      // 2 % go offline for 6-10 s: they come back with more than a page missed.
      lastOffline = now;
      const victims = clients.filter((c) => !c.offline).filter((_, i) => (i * 7 + offline) % 50 === 0);
      for (const c of victims) {
        c.offline = true;
        c.socket.disconnect();
        offline++;
        void sleep(6000 + Math.random() * 4000).then(() => {
          c.offline = false;
          c.socket.connect();
        });
      }
    }
    await sleep(100);
  }
  publishing = false;
  await publishers;
  await Promise.all(running);
  log(`faults done: ${drops} transports cut, ${offline} clients offline for 6-10 s`);
  for (const c of clients) if (!c.socket.connected && !c.offline) c.socket.connect();
  for (let i = 0; i < 600 && (inFlight > 0 || clients.some((c) => c.offline)); i++) await sleep(100);

  // Settle: every client connected and caught up, or a minute.
  for (let i = 0; i < 60 && ledger.lost().count > 0; i++) await sleep(1000);
  sampling = false;
  await sampler;
  const { count: lost, examples, explained } = ledger.lost();
  const duplicates = ledger.duplicates();
  const outOfOrder = ledger.clients.reduce((sum, c) => sum + c.outOfOrder, 0);
  const latency = ledger.liveLatency();
  const unhandled = await Promise.all(nodes.map((n) => (n.running ? metricOf(n.url, 'herald_unhandled_rejections_total') : 0)));
  log(`published: ${ledger.acknowledged.length.toLocaleString('en-US')} acknowledged (202), ${ledger.unacknowledged} not (node down, overloaded)`);
  log(`owed ${ledger.owed().toLocaleString('en-US')} deliveries to ${clients.length} clients: ${latency.live.toLocaleString('en-US')} live, ${latency.paged.toLocaleString('en-US')} from pages of what was missed`);
  log(`live latency (publish request to receipt): p50 ${latency.p50.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms`);
  log(`memory (RSS per node): ${memory.join(', ')}`);
  log(`unhandled rejections in the nodes: ${unhandled.reduce((a, b) => a + b, 0)}`);
  if (examples.length > 0) log(`lost, for example: ${examples.join('; ')}`);
  for (const text of explained) log(`lost, traced: ${text}`);
  const closes = await Promise.all(nodes.map((n) => (n.running ? metricOf(n.url, 'herald_slow_consumer_closes_total') : 0)));
  log(`slow-consumer closes (since the last restart): ${closes.join(' / ')}; clients not connected at the end: ${clients.filter((c) => !c.socket.connected).length}`);
  process.stdout.write(`lost ${lost}, duplicates ${duplicates}, out of order ${outOfOrder}\n`);
  for (const c of clients) c.socket.close();
  return lost === 0 && outOfOrder === 0 ? 0 : 1;
}

async function metricOf(url: string, sample: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

/** One client of a user subscribed to `bulk` stops reading for 10 s while `bulk` gets 15 KB notifications at 100/s. */
async function stall(clients: Client[], nodes: Deployment['nodes'], send: (to: Recipients, extra?: object) => Promise<void>): Promise<string> {
  const victim = clients.find((c) => c.record.user === 'soak-0' && c.socket.connected);
  const tcp = victim && tcpOf(victim.socket);
  if (!victim || !tcp) return 'skipped: its client was not connected';
  const closesBefore = (await Promise.all(nodes.map((n) => (n.running ? metricOf(n.url, 'herald_slow_consumer_closes_total') : 0)))).reduce((a, b) => a + b, 0);
  tcp.pause();
  const until = performance.now() + 10_000;
  while (performance.now() < until) {
    void send({ topic: BULK }, { data: BULK_DATA });
    await sleep(10);
  }
  tcp.resume();
  await sleep(500);
  const closes = (await Promise.all(nodes.map((n) => (n.running ? metricOf(n.url, 'herald_slow_consumer_closes_total') : 0)))).reduce((a, b) => a + b, 0);
  return `${closes - closesBefore} slow-consumer close(s)`;
}

async function killAndRestart(node: Deployment['nodes'][number]): Promise<string> {
  await node.stop('SIGKILL');
  await sleep(1000);
  const t = performance.now();
  await node.restart();
  return `restarted, ready ${((performance.now() - t) / 1000).toFixed(1)} s after the start`;
}

async function restartRedis(deployment: Deployment): Promise<string> {
  await deployment.redis!.stop({ keepData: true });
  await sleep(2000);
  await deployment.redis!.start();
  return 'back';
}

main().catch((err: unknown) => {
  process.stderr.write(`soak: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
