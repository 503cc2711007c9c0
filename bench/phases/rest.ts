/**
 * REST to client: user-targeted notifications through `POST /api/notifications`
 * at a fixed rate (open loop, one random user of N connected each), latency from
 * the request to the receipt at the user's socket.
 */
import { ClientPool } from '../lib/client-pool.js';
import { profiler, quiet, sleep, type Context } from '../lib/context.js';
import { Histogram, nowMicros } from '../lib/histogram.js';
import { heraldPublishBody } from '../lib/message.js';
import type { LoopReading } from '../lib/inspector.js';
import { CpuWindow } from '../lib/proc.js';
import { BENCH_SECRET, bearer, startHerald, type HeraldHandle } from '../lib/servers.js';

export async function restPhase(ctx: Context): Promise<void> {
  const { rest } = ctx.scale;
  ctx.log(`REST to client: ${rest.rate} user notifications/s, ${rest.clients} clients`);
  const pool = new ClientPool(Math.max(2, Math.ceil(rest.clients / 5000)), 'rest');
  let started: HeraldHandle | undefined;
  try {
    const herald = (started = await startHerald());
    const { ms } = await pool.connect({ kind: 'herald', url: herald.url, count: rest.clients, secret: BENCH_SECRET });
    ctx.log(`  ${rest.clients} clients connected in ${ms} ms`);
    await sleep(ctx.scale.fanout.settleMs);
    await quiet(ctx, 'REST to client');
    const auth = bearer(herald.publisherToken);
    const httpLatency = new Histogram();
    let sent = 0;
    let inFlight = 0;
    let failed = 0;
    let skipped = 0;
    let measuring = false;
    let firstError: string | undefined;
    const send = () => {
      if (inFlight >= 512) {
        skipped++;
        return;
      }
      const k = ++sent;
      const user = `u${Math.floor(Math.random() * rest.clients)}`;
      const t = nowMicros();
      inFlight++;
      herald.http.send('POST', '/api/notifications', heraldPublishBody({ user }, k, t, 'u'), auth).then(
        (res) => {
          inFlight--;
          if (measuring) httpLatency.record(nowMicros() - t);
          if (res.status !== 202) {
            failed++;
            firstError ??= `${res.status} ${res.body}`;
          }
        },
        (err: unknown) => {
          inFlight--;
          failed++;
          firstError ??= (err as Error).message;
        },
      );
    };
    // Open loop: every 2 ms, send what the rate says is due, whatever the answers.
    const pacedFrom = nowMicros();
    const pacer = setInterval(() => {
      const due = Math.floor(((nowMicros() - pacedFrom) / 1e6) * rest.rate);
      while (sent + skipped < due) send();
    }, 2);
    let window: ReturnType<CpuWindow['stop']>;
    let sentInWindow: number;
    let received: number;
    let loop: LoopReading;
    const profile = profiler(ctx, herald.inspector, 'rest-to-client');
    try {
      await sleep(rest.warmupMs);
      await profile.start();
      await herald.inspector.startLoopProbe();
      await pool.reset();
      const before = await pool.counters();
      const sentBefore = sent;
      measuring = true;
      const cpu = new CpuWindow(ctx.allPids());
      await sleep(rest.measureMs);
      window = cpu.stop();
      measuring = false;
      sentInWindow = sent - sentBefore;
      clearInterval(pacer);
      loop = await herald.inspector.readLoop();
      await profile.stop();
      // Stragglers: what was sent in the window may still be on its way.
      for (let waited = 0; inFlight > 0 && waited < 5000; waited += 20) await sleep(20);
      await sleep(200);
      received = (await pool.counters()).received - before.received;
    } finally {
      clearInterval(pacer);
    }
    const latency = await pool.histogram();
    if (failed > 0) ctx.results.notes.push(`REST to client: ${failed} publishes failed (first: ${firstError})`);
    if (skipped > 0) ctx.results.notes.push(`REST to client: the driver skipped ${skipped} sends (512 requests already in flight)`);
    const section = `REST→client ${rest.rate}/s, N=${rest.clients}`;
    const rate = sentInWindow / window.seconds;
    const serverCores = (window.cpu.get(herald.pid) ?? 0) / 1e6 / window.seconds;
    ctx.results.add({ section, measure: 'request→receipt p50', unit: 'ms', better: 'lower', values: { herald: latency.quantile(0.5) / 1000 } });
    ctx.results.add({ section, measure: 'request→receipt p99', unit: 'ms', better: 'lower', values: { herald: latency.quantile(0.99) / 1000 } });
    ctx.results.add({
      section,
      measure: 'request→receipt p99.9',
      unit: 'ms',
      better: 'lower',
      values: { herald: latency.quantile(0.999) / 1000 },
      note: `max ${(latency.max / 1000).toFixed(1)} ms over ${latency.count} receipts`,
    });
    ctx.results.add({ section, measure: 'request→202 p99', unit: 'ms', better: 'lower', values: { herald: httpLatency.quantile(0.99) / 1000 } });
    ctx.results.add({
      section,
      measure: 'sent rate',
      unit: '/s',
      better: 'higher',
      values: { herald: rate },
      note: `${received} receipts for ${sentInWindow} sent; server used ${serverCores.toFixed(2)} cores; other load ${window.otherCores.toFixed(2)} cores`,
    });
    ctx.log(
      `  sent ${rate.toFixed(0)}/s, receipt p50 ${(latency.quantile(0.5) / 1000).toFixed(2)} ms, p99 ${(latency.quantile(0.99) / 1000).toFixed(2)} ms, ` +
        `202 p99 ${(httpLatency.quantile(0.99) / 1000).toFixed(2)} ms, received ${received}/${sentInWindow}, server ${serverCores.toFixed(2)} cores, other load ${window.otherCores.toFixed(2)} cores`,
    );
    ctx.results.add({
      section,
      measure: 'Herald event-loop delay p99',
      unit: 'ms',
      better: 'lower',
      values: { herald: loop.delayP99Ms },
      note: `max ${loop.delayMaxMs.toFixed(1)} ms; ${loop.gcCount} GC pauses, ${loop.gcTotalMs.toFixed(0)} ms in all, longest ${loop.gcMaxMs.toFixed(1)} ms (measured inside Herald through the inspector)`,
    });
    ctx.log(`  Herald's event loop: delay p50 ${loop.delayP50Ms.toFixed(2)} ms, p99 ${loop.delayP99Ms.toFixed(2)} ms, max ${loop.delayMaxMs.toFixed(1)} ms; GC ${loop.gcCount} pauses, ${loop.gcTotalMs.toFixed(0)} ms, longest ${loop.gcMaxMs.toFixed(1)} ms`);
    const p99 = latency.quantile(0.99) / 1000;
    ctx.results.target({
      name: `REST to client p99 at ${rest.rate}/s with ${rest.clients} connected`,
      measured: `${p99.toFixed(2)} ms`,
      goal: '≤ 10 ms',
      met: Number.isFinite(p99) ? p99 <= 10 : undefined,
    });
  } finally {
    await pool.stop();
    await started?.stop();
  }
}
