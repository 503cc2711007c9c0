/**
 * Publishing: sustained `POST /api/notifications` (one notification per request)
 * and `POST /api/notifications/batch` (100 per request) from keep-alive
 * connections with autocannon. A 202 means stored durably (SQLite, synchronous=FULL);
 * the count is checked against the database file once Herald has stopped.
 *
 * With `--baseline REV`, each route is then run head to head: this build and
 * the baseline's under the same load at the same moment, in rounds, so that the
 * ratio does not move with the speed of a shared machine (which changes by more
 * than the difference between two commits from one window to the next).
 */
import autocannon, { type Result } from 'autocannon';
import Database from 'better-sqlite3';
import path from 'node:path';
import { profiler, quiet, type Context } from '../lib/context.js';
import { CpuWindow } from '../lib/proc.js';
import { median } from '../lib/median.js';
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

/** The 202s of a run: acknowledged, so they must be in the database afterwards. */
const accepted202 = (result: Result) => result.statusCodeStats['202']?.count ?? 0;

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

/** Counts the notifications in a stopped Herald's database. */
function storedIn(dir: string): number {
  const db = new Database(path.join(dir, 'herald.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM notifications').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const ROUTES = [
  ['/api/notifications', singleBody(), 1, 'single route'],
  ['/api/notifications/batch', batchBody(), BATCH, 'batch route (100 each)'],
] as const;

/** Millions of notifications go to 11 streams: retention's per-stream cap would delete most of them during the phase, and the count at the end could not tell a loss from a cap. */
const NO_CAP = { RETENTION_PER_STREAM: String(1e9) };

export async function publishPhase(ctx: Context): Promise<void> {
  const { publish } = ctx.scale;
  ctx.log(`publishing: ${publish.connections} keep-alive connections, ${publish.seconds} s per route`);
  const herald = await startHerald({ env: NO_CAP });
  let accepted = 0;
  const section = `publish, ${publish.connections} connections`;
  try {
    for (const [route, body, perRequest, measure] of ROUTES) {
      await quiet(ctx, `publishing through ${route}`);
      if (publish.warmupSec > 0) {
        const warm = await cannon(herald, route, body, publish.connections, publish.warmupSec);
        accepted += accepted202(warm) * perRequest;
      }
      const before = (await herald.stats()).notifications.published;
      const profile = profiler(ctx, herald.inspector, `publish-${perRequest === 1 ? 'single' : 'batch'}`);
      await profile.start();
      const cpu = new CpuWindow(ctx.allPids());
      const result = await cannon(herald, route, body, publish.connections, publish.seconds);
      const window = cpu.stop();
      await profile.stop();
      const published = (await herald.stats()).notifications.published - before;
      const ok = accepted202(result);
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
    checkStored(ctx, 'publishing', await herald.stopAndRead(storedIn), accepted);
  }
  if (ctx.baseline) await headToHead(ctx);
}

function checkStored(ctx: Context, what: string, stored: number, accepted: number): void {
  const line = `${what}: ${stored} notifications in the database after the phase, ${accepted} acknowledged with 202`;
  ctx.log(`  ${line}`);
  if (stored < accepted) ctx.results.failures.push(`${line}: acknowledged notifications are missing`);
  else ctx.results.notes.push(`${line} (every 202 was persisted)`);
}

/** Rounds of the head-to-head measurement, per route. */
export const HEAD_TO_HEAD_ROUNDS = 6;

/**
 * This build against the baseline, both loaded at once with half the
 * connections each: per round, the ratio of what each acknowledged.
 */
async function headToHead(ctx: Context): Promise<void> {
  const { publish } = ctx.scale;
  const baseline = ctx.baseline!;
  const connections = Math.max(1, publish.connections / 2);
  const seconds = Math.max(1, Math.round(publish.seconds * 0.8));
  ctx.log(`publishing head to head with ${baseline.label}: ${connections} connections each, ${HEAD_TO_HEAD_ROUNDS} rounds of ${seconds} s per route`);
  const current = await startHerald({ env: NO_CAP });
  const previous = await startHerald({ env: NO_CAP, build: baseline, name: 'previous' });
  const accepted = { current: 0, previous: 0 };
  const section = `publish head to head, ${connections} connections each`;
  try {
    for (const [route, body, perRequest, measure] of ROUTES) {
      await quiet(ctx, `publishing head to head through ${route}`);
      const both = (s: number) => Promise.all([cannon(current, route, body, connections, s), cannon(previous, route, body, connections, s)]);
      const count = ([a, b]: Result[]) => {
        accepted.current += accepted202(a!) * perRequest;
        accepted.previous += accepted202(b!) * perRequest;
      };
      if (publish.warmupSec > 0) count(await both(publish.warmupSec));
      const rounds: { current: number; previous: number; cpu: [number, number] }[] = [];
      for (let round = 0; round < HEAD_TO_HEAD_ROUNDS; round++) {
        const cpu = new CpuWindow([current.pid, previous.pid]);
        const results = await both(seconds);
        const window = cpu.stop();
        count(results);
        const [a, b] = results.map((r) => (accepted202(r) * perRequest) / seconds) as [number, number];
        // Each server's CPU (every thread) per notification it acknowledged.
        const [ca, cb] = [[current.pid, a], [previous.pid, b]].map(([pid, rate]) => window.cpu.get(pid!)! / (rate! * seconds || 1)) as [number, number];
        rounds.push({ current: a, previous: b, cpu: [ca, cb] });
        ctx.log(`  ${route}, round ${round + 1}: ${a.toFixed(0)} against ${b.toFixed(0)} notifications/s, ${(a / b).toFixed(3)}×; CPU ${ca.toFixed(1)} against ${cb.toFixed(1)} µs per notification`);
      }
      const ratio = median(rounds.map((r) => r.current / r.previous));
      const cpuRatio = median(rounds.map((r) => r.cpu[0] / r.cpu[1]));
      ctx.results.add({
        section,
        measure: `${measure} accepted+stored`,
        unit: '/s',
        better: 'higher',
        key: perRequest === 1,
        values: { herald: median(rounds.map((r) => r.current)), previous: median(rounds.map((r) => r.previous)) },
        note:
          `${baseline.label}; ratio per round ${rounds.map((r) => (r.current / r.previous).toFixed(3)).join(', ')}, median ${ratio.toFixed(3)}; ` +
          `server CPU per notification ${median(rounds.map((r) => r.cpu[0])).toFixed(1)} against ${median(rounds.map((r) => r.cpu[1])).toFixed(1)} µs (median ratio ${cpuRatio.toFixed(3)})`,
      });
      if (perRequest === 1) {
        ctx.results.target({
          name: `single publishing against ${baseline.label}, head to head`,
          measured: `${ratio.toFixed(3)}× (median of ${HEAD_TO_HEAD_ROUNDS} rounds)`,
          goal: '≥ 1.00× (at least as fast), within 0.01 of noise',
          met: ratio >= 0.99,
        });
      }
    }
  } finally {
    checkStored(ctx, 'publishing head to head (Herald)', await current.stopAndRead(storedIn), accepted.current);
    checkStored(ctx, `publishing head to head (${baseline.label})`, await previous.stopAndRead(storedIn), accepted.previous);
  }
}
