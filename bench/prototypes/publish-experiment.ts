/**
 * EXPERIMENT: publishing throughput of Herald against the lean-publish stand-in
 * (bench/prototypes/lean-publish-server.ts) in its variants, one after the other
 * in one run, with the publish phase's load (autocannon, 32 keep-alive
 * connections, single and batch routes).
 *
 *   npx tsx bench/prototypes/publish-experiment.ts [seconds]
 */
import autocannon from 'autocannon';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { installExitHandlers, spawnChild, stopAll, stopChild } from '../lib/children.js';
import { HttpClient } from '../lib/http.js';
import { CpuWindow } from '../lib/proc.js';
import { BENCH_SECRET, freePort, ROOT, startHerald } from '../lib/servers.js';
import { signToken } from '../../server/src/auth/token-verifier.js';

installExitHandlers();
const seconds = Number(process.argv[2] ?? 8);
const token = signToken(BENCH_SECRET, { sub: 'bench-publisher', roles: ['publisher'], expiresIn: 3600 });
const single = JSON.stringify({ to: { user: 'publish-target' }, type: 'bench.single', title: 'Benchmark publish', body: 'One of many.', data: { n: 1 } });
const batch = JSON.stringify({
  notifications: Array.from({ length: 100 }, (_, i) => ({ to: { user: `publish-target-${i % 10}` }, type: 'bench.batch', title: 'Benchmark batch publish', body: 'One of many.', data: { i } })),
});

interface Target {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function lean(variant: string): Promise<Target> {
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'herald-lean-'));
  const child = spawnChild(`lean-${variant || 'plain'}`, process.execPath, ['--import', 'tsx', 'bench/prototypes/lean-publish-server.ts'], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(port), JWT_SECRET: BENCH_SECRET, DATA_DIR: dataDir, LEAN_VARIANT: variant },
  });
  const url = `http://127.0.0.1:${port}`;
  const http = new HttpClient(url);
  for (let i = 0; ; i++) {
    if ((await http.send('GET', '/readyz').catch(() => ({ status: 0 }))).status === 200) break;
    if (i > 300 || child.process.exitCode !== null) throw new Error(`lean server did not start: ${child.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  http.close();
  return {
    name: `lean HTTP path${variant ? ` + ${variant}` : ''}`,
    url,
    pid: child.pid,
    stop: async () => {
      await stopChild(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function measure(target: Target, route: string, body: string, perRequest: number): Promise<string> {
  const run = (duration: number) =>
    autocannon({ url: target.url + route, connections: 32, duration, method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
  await run(2);
  const cpu = new CpuWindow([target.pid]);
  const result = await run(seconds);
  const window = cpu.stop();
  const ok = result.statusCodeStats['202']?.count ?? 0;
  const perSec = (ok * perRequest) / window.seconds;
  const micros = (window.cpu.get(target.pid) ?? 0) / (ok * perRequest || 1);
  return `${Math.round(perSec).toLocaleString('en-US').padStart(7)}/s (${micros.toFixed(1)} µs CPU each, p99 ${result.latency.p99} ms, ${result.non2xx} non-2xx)`;
}

const only = process.argv[3];
const allMakers: (() => Promise<Target>)[] = [
  async () => {
    const h = await startHerald();
    return { name: 'Herald (Express)', url: h.url, pid: h.pid, stop: () => h.stop() };
  },
  () => lean(''),
  () => lean('cache'),
  () => lean('cache,skip-empty'),
  () => lean('cache,skip-empty,off-thread'),
];
// An optional second argument picks makers by index (e.g. "0,4").
const makers = only ? only.split(',').map((i) => allMakers[Number(i)]!) : allMakers;
for (const make of makers) {
  const target = await make();
  try {
    const a = await measure(target, '/api/notifications', single, 1);
    const b = await measure(target, '/api/notifications/batch', batch, 100);
    process.stdout.write(`${target.name.padEnd(36)} single: ${a}   batch: ${b}\n`);
  } finally {
    await target.stop();
  }
}
await stopAll();
