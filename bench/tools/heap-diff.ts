/**
 * Per-connection heap cost by object kind: compares two V8 heap snapshots of the
 * same server (at 0 and at N idle connections, as `BENCH_PROFILE=1 npm run bench`
 * writes them to bench/profiles/) and prints, per constructor or kind, the bytes
 * and objects added per connection, largest first.
 *
 *   npx tsx bench/tools/heap-diff.ts bench/profiles/heap-herald-0.heapsnapshot bench/profiles/heap-herald-5000.heapsnapshot 5000 [top]
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count per "type:name" (objects by constructor; strings, arrays, code… by kind). */
function tally(file: string): Map<string, { bytes: number; count: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const totals = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    // Objects by constructor name; other kinds (string, array, code, closure, hidden…) by kind, closures by name.
    const raw = snap.strings[snap.nodes[i + nameAt]!] ?? '';
    const name = type === 'object' || type === 'closure' || type === 'native' ? `${type}:${raw.slice(0, 60)}` : type === 'hidden' || type === 'array' ? `${type}:${raw.slice(0, 40)}` : type;
    const entry = totals.get(name) ?? { bytes: 0, count: 0 };
    entry.bytes += snap.nodes[i + sizeAt]!;
    entry.count++;
    totals.set(name, entry);
  }
  return totals;
}

const [before, after, nArg, topArg] = process.argv.slice(2);
if (!before || !after || !nArg) {
  process.stderr.write('usage: heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot N [top]\n');
  process.exit(2);
}
const n = Number(nArg);
const a = tally(before);
const b = tally(after);
const rows = [...b].map(([name, v]) => {
  const was = a.get(name) ?? { bytes: 0, count: 0 };
  return { name, bytes: (v.bytes - was.bytes) / n, count: (v.count - was.count) / n };
});
const total = rows.reduce((s, r) => s + r.bytes, 0);
process.stdout.write(`heap growth per connection: ${(total / 1024).toFixed(2)} KB (${n} connections)\n`);
for (const r of rows.sort((x, y) => y.bytes - x.bytes).slice(0, Number(topArg ?? 40))) {
  process.stdout.write(`  ${r.bytes.toFixed(0).padStart(7)} B  ${r.count.toFixed(2).padStart(6)} objects  ${r.name}\n`);
}
