/**
 * Reads a `.cpuprofile` (from `BENCH_PROFILE=1 npm run bench` or `node --cpu-prof`)
 * and prints self time by function and by layer, and inclusive ("total") time by
 * function: what a request spends under each middleware, say.
 *
 *   npx tsx bench/tools/profile-report.ts bench/profiles/publish-single.cpuprofile [top] [filter]
 *
 * `filter` keeps inclusive rows whose name or file contains it.
 */
import { readFileSync } from 'node:fs';
import type { CpuProfile } from '../lib/inspector.js';
import { formatSummary, sampleDurations, summarize } from '../lib/profile-summary.js';

const [file, topArg, filter] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-report.ts FILE.cpuprofile [top] [filter]\n');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const summary = summarize(profile, top);
process.stdout.write(`${formatSummary(file, summary, 14).join('\n')}\n`);

// Inclusive time: each sample counts once for every distinct function on its stack.
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const keyOf = (id: number) => {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  return `${functionName || '(anonymous)'}  ${url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/|server\/src\/|bench\/)/, '$1')}:${lineNumber + 1}`;
};
const inclusive = new Map<string, number>();
const durations = sampleDurations(profile);
profile.samples.forEach((id, i) => {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) seen.add(keyOf(at));
  for (const key of seen) inclusive.set(key, (inclusive.get(key) ?? 0) + durations[i]!);
});
const rows = [...inclusive]
  .filter(([key]) => !filter || key.includes(filter))
  .filter(([key]) => !key.startsWith('(root)') && !key.startsWith('(idle)'))
  .sort((a, b) => b[1] - a[1])
  .slice(0, top);
process.stdout.write(`\ninclusive time (share of busy ${summary.busyMs.toFixed(0)} ms)${filter ? `, matching "${filter}"` : ''}:\n`);
for (const [key, us] of rows) process.stdout.write(`  ${((us / 1000 / summary.busyMs) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}\n`);
