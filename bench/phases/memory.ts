/**
 * Memory per idle connection: RSS (from /proc) and V8 heap after a full GC, at
 * 0, N1 and N2 idle connections, for each server. Herald's connections are
 * authenticated (one user and token each); its heap is read through
 * `GET /api/admin/stats`. At N2 on Herald, the admin stats tick is measured too.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ClientPool } from '../lib/client-pool.js';
import { sleep, type Context } from '../lib/context.js';
import { fdCount, fileLimit, rssBytes } from '../lib/proc.js';
import { BENCH_SECRET, SERVER_NAMES, startBaseline, startHerald, type HeraldHandle, type ServerHandle } from '../lib/servers.js';
import { adminTick } from './admin-tick.js';

/** Sockets per client process: 19,800 fit in two (each process may hold 20,000 descriptors). */
const PER_WORKER = 10_000;

interface Reading {
  rss: number;
  heap: number;
}

async function read(server: ServerHandle): Promise<Reading> {
  // Two collections: the first may leave work (weak callbacks, finalizers) for the second.
  await server.inspector.collectGarbage();
  const heap = await server.heapUsedAfterGc();
  return { rss: rssBytes(server.pid), heap };
}

export async function memoryPhase(ctx: Context): Promise<void> {
  const { memory } = ctx.scale;
  const wanted = Math.max(...memory.ns);
  // Every connection is a descriptor in the server, and a process here may hold at
  // most `limit` (a hard limit: raising it needs CAP_SYS_RESOURCE). The same N for
  // every server, keeping 200 descriptors for the server's own files and sockets.
  const limit = fileLimit().soft;
  const reachable = Math.min(wanted, limit - 200);
  if (reachable < wanted) {
    ctx.results.notes.push(
      `memory: the largest N is ${reachable.toLocaleString('en-US')}, not ${wanted.toLocaleString('en-US')}: the open-file limit of a process here is ` +
        `${limit} (hard; raising it needs CAP_SYS_RESOURCE, which this container lacks) and every connection is a descriptor in the server`,
    );
  }
  const ns = memory.ns.map((n) => Math.min(n, reachable));
  for (const kind of ['ws', 'sio', 'herald'] as const) {
    ctx.log(`memory: ${SERVER_NAMES[kind]}`);
    // The client processes boot while the server starts.
    const pool = new ClientPool(Math.max(2, Math.ceil(reachable / PER_WORKER)), `memory-${kind}`);
    let server: ServerHandle | undefined;
    try {
      server =
        kind === 'herald' ? await startHerald({ env: { ADMIN_STATS_INTERVAL_MS: String(ctx.scale.adminTick.intervalMs) } }) : await startBaseline(kind);
      if (fdCount(server.pid) + reachable > fileLimit(server.pid).soft - 16) throw new Error(`${SERVER_NAMES[kind]} would run out of file descriptors`);
      // Warm up (code compiled, pools allocated), then start from zero connections.
      await pool.connect({ kind, url: server.url, count: Math.min(200, ns[0]!), secret: BENCH_SECRET });
      await pool.closeSockets();
      await sleep(memory.settleMs);
      const base = await read(server);
      for (const n of ns) {
        const { ms, refused } = await pool.connect({ kind, url: server.url, count: n - pool.sockets, secret: BENCH_SECRET });
        if (refused > 0) ctx.results.notes.push(`memory: ${SERVER_NAMES[kind]} refused ${refused} connection attempts with 503 (admission, SPEC §8) while ${n} were opened; each was tried again after a second`);
        await sleep(memory.settleMs);
        const live = (await pool.counters()).live;
        const at = await read(server);
        const rssPer = (at.rss - base.rss) / live / 1024;
        const heapPer = (at.heap - base.heap) / live / 1024;
        const section = `idle connections N=${n}`;
        ctx.results.add({ section, measure: 'RSS per connection', unit: 'KB', better: 'lower', values: { [kind]: rssPer }, key: true });
        ctx.results.add({ section, measure: 'heap per connection', unit: 'KB', better: 'lower', values: { [kind]: heapPer }, key: true });
        ctx.results.add({ section, measure: 'server RSS', unit: 'MB', better: 'lower', values: { [kind]: at.rss / 1048576 } });
        ctx.log(
          `  ${live} connections (+${ms} ms): RSS ${(at.rss / 1048576).toFixed(1)} MB (${rssPer.toFixed(2)} KB each), ` +
            `heap ${(at.heap / 1048576).toFixed(1)} MB (${heapPer.toFixed(2)} KB each); at 0: RSS ${(base.rss / 1048576).toFixed(1)} MB, heap ${(base.heap / 1048576).toFixed(1)} MB`,
        );
        if (n === ns.at(-1) && kind === 'herald') {
          ctx.results.target({
            name: `RSS per idle authenticated Herald connection at ${live.toLocaleString('en-US')}`,
            measured: `${rssPer.toFixed(2)} KB`,
            goal: '≤ 12 KB',
            met: rssPer <= 12,
          });
          await adminTick(ctx, server as HeraldHandle, live);
        }
      }
    } finally {
      await pool.stop();
      await server?.stop();
    }
    if (ctx.profile && kind !== 'ws') await heapSnapshots(ctx, kind, ns[0]!);
  }
}

/**
 * BENCH_PROFILE=1: heap snapshots at 0 and N idle connections, from a server of
 * their own (taking a snapshot grows the process, which would distort the RSS
 * figures above). Compare them with bench/tools/heap-diff.ts.
 */
async function heapSnapshots(ctx: Context, kind: 'sio' | 'herald', n: number): Promise<void> {
  const pool = new ClientPool(Math.max(2, Math.ceil(n / PER_WORKER)), `heap-${kind}`);
  let server: ServerHandle | undefined;
  try {
    server = kind === 'herald' ? await startHerald() : await startBaseline(kind);
    mkdirSync(ctx.profileDir, { recursive: true });
    await pool.connect({ kind, url: server.url, count: Math.min(200, n), secret: BENCH_SECRET });
    await pool.closeSockets();
    await sleep(ctx.scale.memory.settleMs);
    const files = [path.join(ctx.profileDir, `heap-${kind}-0.heapsnapshot`), path.join(ctx.profileDir, `heap-${kind}-${n}.heapsnapshot`)] as const;
    await server.inspector.heapSnapshot(files[0]);
    await pool.connect({ kind, url: server.url, count: n, secret: BENCH_SECRET });
    await sleep(ctx.scale.memory.settleMs);
    await server.inspector.heapSnapshot(files[1]);
    const line = `heap snapshots of ${SERVER_NAMES[kind]} at 0 and ${n} idle connections: ${files.map((f) => path.relative(process.cwd(), f)).join(', ')} (compare: npx tsx bench/tools/heap-diff.ts ${files.map((f) => path.relative(process.cwd(), f)).join(' ')} ${n})`;
    ctx.log(`  ${line}`);
    ctx.results.profiles.push(line);
  } finally {
    await pool.stop();
    await server?.stop();
  }
}
