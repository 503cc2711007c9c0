/**
 * Publishing: sustained `POST /api/notifications` (one notification per request)
 * and `POST /api/notifications/batch` (100 per request) from keep-alive
 * connections with autocannon. A 202 means stored durably (SQLite, synchronous=FULL);
 * the count is checked against the database file once Herald has stopped.
 */
import autocannon, { type Result } from 'autocannon';
import Database from 'better-sqlite3';
import path from 'node:path';
import { profiler, quiet, type Context } from '../lib/context.js';
import { CpuWindow } from '../lib/proc.js';
import { startHerald, type HeraldHandle } from '../lib/servers.js';

const BATCH = 100;

function singleBody(): string {
  return JSON.stringify({ to: { user: 'publish-target' }, type: 'bench.single', title: 'Benchmark publish', body: 'One of many.', data: { n: 1 } });
}

function batchBody(): string {
  const notifications = Array.from({ length: BATCH }, (_, i) => ({
    to: { user: `publish-target-${i % 10}` },
    type: 'bench.batch',
    title: 'Benchmark batch publish',
    body: 'One of many.',
    data: { i },
  }));
  return JSON.stringify({ notifications });
}

async function cannon(herald: HeraldHandle, route: string, body: string, connections: number, seconds: number): Promise<Result> {
  return autocannon({
    url: `${herald.url}${route}`,
    connections,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${herald.publisherToken}` },
    body,
    timeout: 10,
  });
}

export async function publishPhase(ctx: Context): Promise<void> {
  const { publish } = ctx.scale;
  ctx.log(`publishing: ${publish.connections} keep-alive connections, ${publish.seconds} s per route`);
  const herald = await startHerald();
  let accepted = 0;
  const section = `publish, ${publish.connections} connections`;
  try {
    for (const [route, body, perRequest, measure] of [
      ['/api/notifications', singleBody(), 1, 'single route'],
      ['/api/notifications/batch', batchBody(), BATCH, 'batch route (100 each)'],
    ] as const) {
      await quiet(ctx, `publishing through ${route}`);
      if (publish.warmupSec > 0) {
        const warm = await cannon(herald, route, body, publish.connections, publish.warmupSec);
        accepted += (warm.statusCodeStats['202']?.count ?? 0) * perRequest;
      }
      const before = (await herald.stats()).notifications.published;
      const profile = profiler(ctx, herald.inspector, `publish-${perRequest === 1 ? 'single' : 'batch'}`);
      await profile.start();
      const cpu = new CpuWindow(ctx.allPids());
      const result = await cannon(herald, route, body, publish.connections, publish.seconds);
      const window = cpu.stop();
      await profile.stop();
      const published = (await herald.stats()).notifications.published - before;
      const ok = result.statusCodeStats['202']?.count ?? 0;
      accepted += ok * perRequest;
      const perSec = (ok * perRequest) / window.seconds;
      const serverMicros = window.cpu.get(herald.pid) ?? 0;
      ctx.results.add({
        section,
        measure: `${measure} accepted+stored`,
        unit: '/s',
        better: 'higher',
        values: { herald: perSec },
        note:
          `${ok} × 202 in ${window.seconds.toFixed(1)} s, p99 ${result.latency.p99} ms, ${result.non2xx} non-2xx, ${result.errors} errors; ` +
          `stats counted ${published}; server ${(serverMicros / (ok * perRequest || 1)).toFixed(1)} µs CPU per notification (${(serverMicros / 1e6 / window.seconds).toFixed(2)} cores)` +
          (window.otherCores >= 0.15 ? `; other load ${window.otherCores.toFixed(2)} cores` : ''),
      });
      ctx.log(
        `  ${route}: ${perSec.toFixed(0)} notifications/s (${ok} × 202, ${result.non2xx} non-2xx, ${result.errors} errors), ` +
          `request p50 ${result.latency.p50} ms p99 ${result.latency.p99} ms, ${(serverMicros / (ok * perRequest || 1)).toFixed(1)} µs CPU/notification`,
      );
      const goal = perRequest === 1 ? 8000 : 50_000;
      ctx.results.target({
        name: `publishing through ${route}`,
        measured: `${perSec.toFixed(0)} notifications/s`,
        goal: `≥ ${goal.toLocaleString('en-US')}/s`,
        met: perSec >= goal,
      });
    }
  } finally {
    const stored = await herald.stopAndRead((dir) => {
      const db = new Database(path.join(dir, 'herald.db'), { readonly: true, fileMustExist: true });
      try {
        return (db.prepare('SELECT COUNT(*) AS n FROM notifications').get() as { n: number }).n;
      } finally {
        db.close();
      }
    });
    const line = `publishing: ${stored} notifications in the database after the phase, ${accepted} acknowledged with 202`;
    ctx.log(`  ${line}`);
    if (stored < accepted) ctx.results.failures.push(`${line}: acknowledged notifications are missing`);
    else ctx.results.notes.push(`${line} (every 202 was persisted)`);
  }
}
