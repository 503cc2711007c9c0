/**
 * The driver's side of a reconnect storm: client processes (bench/storm-worker.ts)
 * holding thousands of reconnecting sockets from source addresses of their own
 * (127.3.0.0 and up, clear of the other phases'), and the waits a storm needs.
 */
import { fileURLToPath } from 'node:url';
import { forkChild, stopChild, type Child } from './children.js';
import { Histogram } from './histogram.js';
import { fetchWaitingOut503 } from './http.js';

const WORKER = fileURLToPath(new URL('../storm-worker.ts', import.meta.url));
const PROBE = fileURLToPath(new URL('../health-probe.ts', import.meta.url));
/** Connections per source address. */
const PER_ADDRESS = 500;

export type StormRequest =
  | {
      op: 'connect';
      kind: 'herald' | 'sio';
      url: string;
      users: string[];
      /** HS256 secret (Herald), to sign one token per user. */
      secret?: string;
      localAddresses: string[];
      perAddress: number;
    }
  | { op: 'status' }
  | { op: 'received' }
  | { op: 'close' };

export interface StormStatus {
  /** Sockets connected now (Herald: `ready` received since their last disconnect). */
  live: number;
  /** Sockets whose transport is connected now (Herald: `ready` may still be on its way); in `status` only. */
  connected?: number;
  readies: number;
  connectErrors: number;
  disconnects: number;
  /** connect_error messages (with the transport's reason) and how often each came. */
  errors?: Record<string, number>;
}
export type StormReply = StormStatus | { received: Record<string, string[]> };

interface Worker {
  child: Child;
  ready: Promise<void>;
  calls: Map<number, (reply: StormReply) => void>;
}

/** Address blocks handed out so far: each process gets fresh ones (no port of an earlier run in TIME_WAIT). */
let nextBlock = 0;

function addresses(count: number): string[] {
  const block = nextBlock++;
  return Array.from({ length: count }, (_, i) => {
    const n = (3 << 16) + block * 64 + i;
    return `127.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  });
}

/**
 * @example
 * const storm = new StormClients(2);
 * await storm.connect({ kind: 'herald', url, users, secret });
 * await storm.untilLive(users.length, 60_000);
 */
export class StormClients {
  private readonly workers: Worker[];
  private nextId = 0;

  constructor(size: number, name = 'storm') {
    this.workers = Array.from({ length: size }, (_, i) => {
      const child = forkChild(`${name}-${i}`, WORKER);
      const calls = new Map<number, (reply: StormReply) => void>();
      let ready = () => {};
      const worker: Worker = { child, calls, ready: new Promise<void>((resolve) => (ready = resolve)) };
      child.process.on('message', (message: { ready: true } | { id: number; reply: StormReply }) => {
        if ('ready' in message) return ready();
        calls.get(message.id)?.(message.reply);
        calls.delete(message.id);
      });
      return worker;
    });
  }

  get pids(): number[] {
    return this.workers.map((w) => w.child.pid);
  }

  private async call(worker: Worker, req: StormRequest): Promise<StormReply> {
    await Promise.race([
      worker.ready,
      worker.child.exited.then((how) => Promise.reject(new Error(`${worker.child.name} exited (${how}): ${worker.child.output()}`))),
    ]);
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      worker.calls.set(id, resolve);
      worker.child.process.send({ id, req }, (err) => err && reject(err));
      void worker.child.exited.then((how) => worker.calls.delete(id) && reject(new Error(`${worker.child.name} exited (${how})`)));
    });
  }

  /** Opens a socket per user, split over the processes; they connect (and later reconnect) by themselves. */
  async connect(opts: { kind: 'herald' | 'sio'; url: string; users: string[]; secret?: string }): Promise<void> {
    const share = Math.ceil(opts.users.length / this.workers.length);
    await Promise.all(
      this.workers.map((worker, i) => {
        const users = opts.users.slice(i * share, (i + 1) * share);
        const localAddresses = addresses(Math.ceil(users.length / PER_ADDRESS));
        return this.call(worker, { op: 'connect', kind: opts.kind, url: opts.url, users, localAddresses, perAddress: PER_ADDRESS, ...(opts.secret ? { secret: opts.secret } : {}) });
      }),
    );
  }

  /** The sum over the processes. */
  async status(): Promise<StormStatus> {
    const replies = (await Promise.all(this.workers.map((w) => this.call(w, { op: 'status' })))) as StormStatus[];
    return replies.reduce((sum, r) => ({
      live: sum.live + r.live,
      connected: (sum.connected ?? 0) + (r.connected ?? 0),
      readies: sum.readies + r.readies,
      connectErrors: sum.connectErrors + r.connectErrors,
      disconnects: sum.disconnects + r.disconnects,
      errors: Object.fromEntries(
        [...new Set([...Object.keys(sum.errors ?? {}), ...Object.keys(r.errors ?? {})])].map((k) => [k, (sum.errors?.[k] ?? 0) + (r.errors?.[k] ?? 0)]),
      ),
    }));
  }

  /**
   * Resolves with the moment every one of `count` sockets is connected (polled every 25 ms); rejects after `ms`.
   * `timeline`, when given, receives the sockets live (and connected) at each whole second from the call.
   */
  async untilLive(count: number, ms: number, timeline?: string[]): Promise<number> {
    const from = Date.now();
    const until = from + ms;
    for (;;) {
      const { live, connected } = await this.status();
      if (timeline) while (timeline.length <= Math.floor((Date.now() - from) / 1000)) timeline.push(`${live}/${connected}`);
      if (live >= count) return Date.now();
      if (Date.now() > until) throw new Error(`only ${live} of ${count} sockets connected after ${ms / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Resolves once no socket is connected (after the server died); rejects after `ms`. */
  async untilDown(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while ((await this.status()).live > 0) {
      if (Date.now() > until) throw new Error(`sockets still connected after ${ms / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Herald: the ids each user's client has shown. */
  async received(): Promise<Map<string, Set<string>>> {
    const all = new Map<string, Set<string>>();
    for (const worker of this.workers) {
      const reply = (await this.call(worker, { op: 'received' })) as { received: Record<string, string[]> };
      for (const [user, ids] of Object.entries(reply.received)) all.set(user, new Set(ids));
    }
    return all;
  }

  /** Closes the sockets and stops the processes. */
  async stop(): Promise<void> {
    await Promise.race([Promise.all(this.workers.map((w) => this.call(w, { op: 'close' }).catch(() => undefined))), new Promise((r) => setTimeout(r, 3000))]);
    await Promise.all(this.workers.map((w) => stopChild(w.child, 3000)));
  }
}


/** The /healthz prober process (bench/health-probe.ts); `stop` resolves its latencies as a histogram. */
export function healthProbe(url: string): { ready: Promise<void>; stop(): Promise<Histogram> } {
  const child = forkChild('health-probe', PROBE, [], { env: { ...process.env, PROBE_URL: url } });
  const ready = new Promise<void>((resolve) => child.process.once('message', () => resolve()));
  return {
    ready,
    async stop() {
      const reply = new Promise<{ answered: number[]; failed: number }>((resolve) => child.process.once('message', resolve));
      child.process.send({ op: 'stop' });
      const { answered, failed } = await reply;
      await stopChild(child, 2000);
      const histogram = new Histogram();
      for (const micros of answered) histogram.record(micros);
      // An unanswered probe (5 s timeout) counts as the slowest answer there is.
      for (let i = 0; i < failed; i++) histogram.record(5_000_000);
      return histogram;
    },
  };
}

/** Whom a storm notification is for: some users, or everyone. */
export type StormRecipients = Map<string, string[] | 'all'>;

/**
 * Publishes `count` notifications to a Herald in batches of 100 (each to two
 * users, every 500th to everyone), waiting out the 503s of an overloaded node
 * as a publisher does; resolves id → recipients.
 */
export async function publishToStorm(
  node: { url: string; token(sub: string, claims: { roles: string[] }): string },
  users: readonly string[],
  count: number,
  seed: number,
): Promise<StormRecipients> {
  const token = node.token('storm-publisher', { roles: ['publisher'] });
  const published: StormRecipients = new Map();
  for (let from = 0; from < count; from += 100) {
    const targets = Array.from({ length: Math.min(100, count - from) }, (_, i) => {
      const k = seed + from + i;
      return k % 500 === 0 ? ('all' as const) : [users[(k * 7919) % users.length]!, users[(k * 104_729 + 1) % users.length]!];
    });
    const body = JSON.stringify({ notifications: targets.map((to, i) => ({ to: to === 'all' ? { all: true } : { users: to }, title: `s${seed + from + i}` })) });
    const init = { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body };
    const res = await fetchWaitingOut503(`${node.url}/api/notifications/batch`, init, 100);
    if (res.status !== 202) throw new Error(`publishing during the storm: ${res.status} ${await res.text()}`);
    ((await res.json()) as { results: { id: string }[] }).results.forEach((r, i) => published.set(r.id, targets[i]!));
  }
  return published;
}

/** (notification, user) pairs of `published` that the users' clients have not shown. */
export function missing(published: StormRecipients, users: readonly string[], received: Map<string, Set<string>>): number {
  let count = 0;
  for (const [id, to] of published) for (const user of to === 'all' ? users : to) if (!received.get(user)?.has(id)) count++;
  return count;
}
