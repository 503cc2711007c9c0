/**
 * The fan-out measurement: the driver keeps `window` messages in flight, each to
 * every connected client, and sends the next one as soon as every client has
 * received one; deliveries are counted at the clients over a measured window,
 * after a warm-up, with the server's CPU time read from /proc over the same window.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientPool } from './client-pool.js';
import { nowMicros } from './histogram.js';
import { CpuWindow } from './proc.js';

export interface FanoutOptions {
  /** Messages in flight. */
  window: number;
  warmupMs: number;
  measureMs: number;
  /** A message not complete after this long is counted lost and replaced. */
  messageTimeoutMs?: number;
  /** Publishes message `k` with send time `t`; resolves with the HTTP status. */
  publish: (k: number, t: number) => Promise<number>;
  pool: ClientPool;
  /** The server processes whose CPU is charged to the deliveries. */
  serverPids: number[];
  /** Every process of the benchmark, to tell other work on the machine apart. */
  allPids: number[];
  /** Runs around the measured window (CPU profiling). */
  around?: { start(): Promise<void>; stop(): Promise<void> };
}

export interface FanoutResult {
  deliveriesPerSec: number;
  messagesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuMicrosPerDelivery: number;
  /** Cores' worth of CPU used by the server processes during the window. */
  serverCores: number;
  /** Client processes' CPU per delivery (what the clients cost, sharing the same cores). */
  clientMicrosPerDelivery: number;
  /** Cores' worth of CPU used by processes outside the benchmark. */
  otherCores: number;
  lost: number;
  publishErrors: number;
  clients: number;
}

/** Publishes that may fail before the first one succeeds. */
const MAX_ERRORS_BEFORE_SUCCESS = 100;

export async function measureFanout(opts: FanoutOptions): Promise<FanoutResult> {
  const { pool } = opts;
  const timeoutMicros = (opts.messageTimeoutMs ?? 10_000) * 1000;
  const inFlight = new Map<number, number>();
  let k = 0;
  let stopping = false;
  let completed = 0;
  let lost = 0;
  let publishErrors = 0;
  let firstError: string | undefined;
  const issue = (): void => {
    if (stopping) return;
    const id = ++k;
    const t = nowMicros();
    inFlight.set(id, t);
    opts.publish(id, t).then(
      (status) => {
        if (status >= 200 && status < 300) return;
        firstError ??= `HTTP ${status}`;
        fail(id);
      },
      (err: unknown) => {
        firstError ??= (err as Error).message;
        fail(id);
      },
    );
  };
  const fail = (id: number) => {
    publishErrors++;
    // A server that refuses everything from the start: stop sending rather than spin until the deadline.
    if (completed === 0 && publishErrors >= MAX_ERRORS_BEFORE_SUCCESS) stopping = true;
    if (inFlight.delete(id)) issue();
  };
  pool.onComplete((id) => {
    if (!inFlight.delete(id)) return;
    completed++;
    issue();
  });
  const watchdog = setInterval(() => {
    const now = nowMicros();
    for (const [id, t] of inFlight) {
      if (now - t < timeoutMicros) continue;
      inFlight.delete(id);
      lost++;
      issue();
    }
  }, 250);
  try {
    for (let i = 0; i < opts.window; i++) issue();
    await sleep(opts.warmupMs);
    await opts.around?.start();
    await pool.reset();
    const before = await pool.counters();
    const cpu = new CpuWindow(opts.allPids);
    const messagesBefore = completed;
    await sleep(opts.measureMs);
    const after = await pool.counters();
    const used = cpu.stop();
    const messages = completed - messagesBefore;
    await opts.around?.stop();
    const histogram = await pool.histogram();
    stopping = true;
    for (let waited = 0; inFlight.size > 0 && waited < 10_000; waited += 20) await sleep(20);
    if (publishErrors > 0 && completed === 0) throw new Error(`every publish failed: ${firstError}`);
    const deliveries = after.received - before.received;
    const serverMicros = opts.serverPids.reduce((sum, pid) => sum + (used.cpu.get(pid) ?? 0), 0);
    return {
      deliveriesPerSec: deliveries / used.seconds,
      messagesPerSec: messages / used.seconds,
      p50Ms: histogram.quantile(0.5) / 1000,
      p99Ms: histogram.quantile(0.99) / 1000,
      cpuMicrosPerDelivery: deliveries > 0 ? serverMicros / deliveries : Number.NaN,
      serverCores: serverMicros / 1e6 / used.seconds,
      clientMicrosPerDelivery: deliveries > 0 ? pool.pids.reduce((sum, pid) => sum + (used.cpu.get(pid) ?? 0), 0) / deliveries : Number.NaN,
      otherCores: used.otherCores,
      lost,
      publishErrors,
      clients: after.live,
    };
  } finally {
    stopping = true;
    clearInterval(watchdog);
    pool.onComplete(undefined);
  }
}
