/**
 * The admin stats tick at many connections: one `/admin` socket makes Herald
 * push `stats` every ADMIN_STATS_INTERVAL_MS; a CPU profile of the window, sampled
 * every 50 µs, gives the event-loop time spent under `AdminSockets.tick` per push.
 * `GET /api/admin/stats` timed from a client, and the event-loop lag Herald
 * reports, complete the picture.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { io } from 'socket.io-client';
import { sleep, type Context } from '../lib/context.js';
import { Histogram, nowMicros } from '../lib/histogram.js';
import { formatSummary, summarize, timeUnder } from '../lib/profile-summary.js';
import type { HeraldHandle } from '../lib/servers.js';

export async function adminTick(ctx: Context, herald: HeraldHandle, connections: number): Promise<void> {
  const { adminTick: opts } = ctx.scale;
  const admin = io(`${herald.url}/admin`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: herald.adminToken } });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the admin socket got no ready within 10 s')), 10_000);
      admin.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
      admin.once('connect_error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    let pushes = 0;
    admin.on('stats', () => pushes++);
    await sleep(Math.max(500, opts.intervalMs * 3));
    await herald.inspector.startProfile(50);
    const before = pushes;
    await sleep(opts.measureMs);
    const profile = await herald.inspector.stopProfile();
    const ticks = pushes - before;
    const tickMs = timeUnder(profile, (f) => f.functionName === 'tick' && f.url.includes('admin-namespace'));
    const perTick = ticks > 0 ? tickMs / ticks : Number.NaN;

    const rest = new Histogram();
    for (let i = 0; i < 50; i++) {
      const t = nowMicros();
      await herald.stats();
      rest.record(nowMicros() - t);
    }
    const stats = await herald.stats();
    const section = `admin stats, N=${connections}`;
    ctx.results.add({
      section,
      measure: 'event-loop time per stats tick',
      unit: 'ms',
      better: 'lower',
      values: { herald: perTick },
      note: `${ticks} pushes in ${opts.measureMs / 1000} s at ADMIN_STATS_INTERVAL_MS=${opts.intervalMs}; ${tickMs.toFixed(2)} ms sampled under AdminSockets.tick (CPU profile, 50 µs sampling)`,
    });
    ctx.results.add({ section, measure: 'GET /api/admin/stats p50', unit: 'ms', better: 'lower', values: { herald: rest.quantile(0.5) / 1000 } });
    ctx.results.add({
      section,
      measure: 'event-loop lag, as Herald reports it',
      unit: 'ms',
      better: 'lower',
      values: { herald: stats.nodes[0]!.eventLoopLagMs },
      note: "the mean of monitorEventLoopDelay less its 20 ms sampling interval (server/src/realtime/activity.ts): an idle loop reads about 0",
    });
    ctx.log(
      `  admin tick at ${connections}: ${perTick.toFixed(3)} ms per tick (${ticks} ticks), GET stats p50 ${(rest.quantile(0.5) / 1000).toFixed(2)} ms, ` +
        `event-loop lag ${stats.nodes[0]!.eventLoopLagMs} ms`,
    );
    ctx.results.target({
      name: `admin stats tick at ${connections.toLocaleString('en-US')} connections`,
      measured: `${perTick.toFixed(3)} ms per tick`,
      goal: '< 2 ms',
      met: Number.isFinite(perTick) ? perTick < 2 : undefined,
    });
    if (ctx.profile) {
      mkdirSync(ctx.profileDir, { recursive: true });
      const file = path.join(ctx.profileDir, 'admin-tick.cpuprofile');
      writeFileSync(file, JSON.stringify(profile));
      const lines = formatSummary(`admin-tick at ${connections} idle connections (${path.relative(process.cwd(), file)})`, summarize(profile, 10));
      ctx.results.profiles.push(lines.join('\n'));
    }
  } finally {
    admin.disconnect();
  }
}
