/**
 * The driver's side of the client processes: each one holds a share of the
 * sockets, from its own loopback source address (127.0.0.2, .3, …), so that
 * 20,000 connections stay clear of the ephemeral-port range and of the
 * per-process file limit.
 */
import { fileURLToPath } from 'node:url';
import { forkChild, stopChild, type Child } from './children.js';
import { Histogram, type HistogramData } from './histogram.js';
import type { ClientKind, DoneEvent, WorkerReply, WorkerRequest } from './worker-protocol.js';

const WORKER = fileURLToPath(new URL('../client-worker.ts', import.meta.url));

/** Connections per source address (see WorkerRequest.perAddress). */
const PER_ADDRESS = 500;
/** Source addresses per client process: 40 × 500 = 20,000 connections. */
const ADDRESSES_PER_WORKER = 40;
/** Address blocks handed out in this run: every process gets fresh addresses (no port of an earlier phase lingers in TIME_WAIT on them). */
let nextBlock = 0;

/** The i-th address of block b, from 127.1.0.0 up (127.0.0.1 is the servers'). */
function blockAddresses(block: number): string[] {
  return Array.from({ length: ADDRESSES_PER_WORKER }, (_, i) => {
    const n = (1 << 16) + block * ADDRESSES_PER_WORKER + i;
    return `127.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  });
}

interface Worker {
  child: Child;
  localAddresses: string[];
  /** Sockets this worker holds. */
  sockets: number;
  calls: Map<number, (reply: WorkerReply) => void>;
  /** Resolves once the process has loaded and listens for requests. */
  ready: Promise<void>;
}

export interface ConnectOptions {
  kind: ClientKind;
  /** One URL for all, or one per worker (a cluster's nodes). */
  url: string | ((worker: number) => string);
  /** Sockets to add in total, spread evenly over the workers; client indexes continue from the last call. */
  count: number;
  secret?: string;
  concurrency?: number;
  timeoutMs?: number;
}

export class ClientPool {
  private readonly workers: Worker[];
  private nextId = 0;
  private nextIndex = 0;
  private doneListener: ((k: number) => void) | undefined;

  /** Starts `size` client processes, each with source addresses of its own. */
  constructor(size: number, name = 'clients') {
    this.workers = Array.from({ length: size }, (_, i) => {
      const child = forkChild(`${name}-${i}`, WORKER, [], process.env.BENCH_WORKER_PROF ? { execArgv: ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_WORKER_PROF}`, '--import', 'tsx'] } : {});
      let ready = () => {};
      const worker: Worker = {
        child,
        localAddresses: blockAddresses(nextBlock++),
        sockets: 0,
        calls: new Map(),
        ready: new Promise<void>((resolve, reject) => {
          ready = resolve;
          void child.exited.then((how) => reject(new Error(`${child.name} exited (${how}) before it was ready: ${child.output().slice(-1000)}`)));
        }),
      };
      worker.ready.catch(() => undefined);
      child.process.on('message', (message: { id: number; reply: WorkerReply } | DoneEvent | { ready: true }) => {
        if ('ready' in message) {
          ready();
          return;
        }
        if ('done' in message) {
          this.doneListener?.(message.done);
          return;
        }
        const resolve = worker.calls.get(message.id);
        worker.calls.delete(message.id);
        resolve?.(message.reply);
      });
      return worker;
    });
  }

  get size(): number {
    return this.workers.length;
  }

  get pids(): number[] {
    return this.workers.map((w) => w.child.pid);
  }

  /** Sockets connected through this pool. */
  get sockets(): number {
    return this.workers.reduce((sum, w) => sum + w.sockets, 0);
  }

  private async call(worker: Worker, req: WorkerRequest): Promise<WorkerReply> {
    await worker.ready;
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      worker.calls.set(id, resolve);
      worker.child.process.send({ id, req }, (err) => err && reject(err));
      void worker.child.exited.then((how) => {
        if (worker.calls.delete(id)) reject(new Error(`${worker.child.name} exited (${how}): ${worker.child.output().slice(-1000)}`));
      });
    });
  }

  private all<T extends WorkerReply>(req: WorkerRequest): Promise<T[]> {
    return Promise.all(this.workers.map((w) => this.call(w, req) as Promise<T>));
  }

  /**
   * Opens `count` more sockets; throws if any fails. Resolves with the time it
   * took and how many attempts a server refused with 503 and were tried again.
   */
  async connect(opts: ConnectOptions): Promise<{ ms: number; connected: number; refused: number }> {
    const started = Date.now();
    const share = (i: number) => Math.floor(opts.count / this.size) + (i < opts.count % this.size ? 1 : 0);
    let from = this.nextIndex;
    const calls = this.workers.map((worker, i) => {
      const count = share(i);
      const req: WorkerRequest = {
        op: 'connect',
        kind: opts.kind,
        url: typeof opts.url === 'string' ? opts.url : opts.url(i),
        from,
        count,
        localAddresses: worker.localAddresses,
        perAddress: PER_ADDRESS,
        concurrency: opts.concurrency ?? 64,
        ...(opts.secret ? { secret: opts.secret } : {}),
        timeoutMs: opts.timeoutMs ?? 60_000,
      };
      from += count;
      return this.call(worker, req).then((reply) => {
        const r = reply as { connected: number; failed: number; refused: number; error?: string };
        worker.sockets += r.connected;
        return r;
      });
    });
    this.nextIndex = from;
    const replies = await Promise.all(calls);
    const failed = replies.reduce((sum, r) => sum + r.failed, 0);
    const connected = replies.reduce((sum, r) => sum + r.connected, 0);
    const refused = replies.reduce((sum, r) => sum + r.refused, 0);
    if (failed > 0) {
      throw new Error(`${failed} of ${opts.count} ${opts.kind} connections failed: ${replies.find((r) => r.error)?.error}`);
    }
    return { ms: Date.now() - started, connected, refused };
  }

  /** Messages received by every socket so far, and the sockets still connected. */
  async counters(): Promise<{ received: number; live: number }> {
    const replies = await this.all<{ received: number; live: number }>({ op: 'counters' });
    return { received: replies.reduce((s, r) => s + r.received, 0), live: replies.reduce((s, r) => s + r.live, 0) };
  }

  /** Drops the latency samples so far. */
  async reset(): Promise<void> {
    await this.all({ op: 'reset' });
  }

  /** The latency histogram of every worker since the last reset, merged. */
  async histogram(): Promise<Histogram> {
    const merged = new Histogram();
    for (const reply of await this.all<{ histogram: HistogramData }>({ op: 'histogram' })) merged.merge(reply.histogram);
    return merged;
  }

  /** Called with `k` each time every worker has reported fan-out message `k` complete. */
  onComplete(listener: ((k: number) => void) | undefined): void {
    if (!listener) {
      this.doneListener = undefined;
      return;
    }
    // Workers with no socket never report; count only those that hold some.
    const counts = new Map<number, number>();
    this.doneListener = (k) => {
      const reporting = this.workers.filter((w) => w.sockets > 0).length;
      const seen = (counts.get(k) ?? 0) + 1;
      if (seen >= reporting) {
        counts.delete(k);
        listener(k);
      } else {
        counts.set(k, seen);
      }
    };
  }

  /** Closes every socket (the processes stay). */
  async closeSockets(): Promise<void> {
    await this.all({ op: 'close' });
    for (const w of this.workers) w.sockets = 0;
  }

  /** Closes the sockets and stops the processes. */
  async stop(): Promise<void> {
    await Promise.race([this.closeSockets().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 3000))]);
    await Promise.all(this.workers.map((w) => stopChild(w.child, 3000)));
  }
}
