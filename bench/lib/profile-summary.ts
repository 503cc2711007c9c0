/**
 * Reading V8 CPU profiles (the `.cpuprofile` format of `node --cpu-prof` and of
 * the inspector's Profiler): self time per function, time per library, and the
 * total time spent under a given function.
 */
import type { CpuProfile } from './inspector.js';

type ProfileNode = CpuProfile['nodes'][number];

export interface FunctionTime {
  name: string;
  where: string;
  selfMs: number;
  share: number;
}

/** Which library or layer a frame belongs to, from its script URL. */
export function layerOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : 'native / V8';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.includes('/server/src/')) return 'herald (server/src)';
  if (url.includes('/bench/')) return 'bench server code';
  if (url.startsWith('node:')) return 'node core';
  return url.replace(/^file:\/\//, '');
}

/**
 * Microseconds each sample stands for: the time until the next sample (as
 * DevTools counts it), so that a gap in sampling (the thread blocked in a system
 * call, or descheduled) is charged to what was running, not to what came after.
 */
export function sampleDurations(profile: CpuProfile): number[] {
  const n = profile.samples.length;
  return profile.samples.map((_, i) => (i + 1 < n ? (profile.timeDeltas[i + 1] ?? 0) : 0));
}

/** Self time of each node, in microseconds. */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  const durations = sampleDurations(profile);
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + durations[i]!));
  return self;
}

const shortUrl = (url: string) => url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/|server\/src\/|bench\/)/, '$1');

export interface ProfileSummary {
  totalMs: number;
  /** Time not idle (everything but "(idle)"). */
  busyMs: number;
  functions: FunctionTime[];
  layers: { layer: string; ms: number; share: number }[];
}

/** Top functions by self time, and self time per library, as shares of the busy (non-idle) time. */
export function summarize(profile: CpuProfile, top = 15): ProfileSummary {
  const self = selfTimes(profile);
  const byId = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
  const functions = new Map<string, FunctionTime>();
  const layers = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    totalUs += us;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const name = functionName || '(anonymous)';
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const entry = functions.get(key) ?? { name, where, selfMs: 0, share: 0 };
    entry.selfMs += us / 1000;
    functions.set(key, entry);
    const layer = layerOf(url, functionName);
    layers.set(layer, (layers.get(layer) ?? 0) + us / 1000);
  }
  const busyMs = (totalUs - idleUs) / 1000;
  const sorted = [...functions.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  for (const f of sorted) f.share = busyMs > 0 ? f.selfMs / busyMs : 0;
  return {
    totalMs: totalUs / 1000,
    busyMs,
    functions: sorted,
    layers: [...layers]
      .map(([layer, ms]) => ({ layer, ms, share: busyMs > 0 ? ms / busyMs : 0 }))
      .sort((a, b) => b.ms - a.ms),
  };
}

/** Milliseconds of samples with a frame matching `match` on their stack (counted once per sample). */
export function timeUnder(profile: CpuProfile, match: (frame: ProfileNode['callFrame']) => boolean): number {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
  const under = new Map<number, boolean>();
  const isUnder = (id: number): boolean => {
    const known = under.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    const up = parent.get(id);
    const result = node !== undefined && (match(node.callFrame) || (up !== undefined && isUnder(up)));
    under.set(id, result);
    return result;
  };
  let us = 0;
  const durations = sampleDurations(profile);
  profile.samples.forEach((id, i) => {
    if (isUnder(id)) us += durations[i]!;
  });
  return us / 1000;
}

/** A summary as text lines, for the console and RESULTS.md. */
export function formatSummary(title: string, summary: ProfileSummary, layersShown = 8): string[] {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [`${title}: ${summary.busyMs.toFixed(0)} ms busy of ${summary.totalMs.toFixed(0)} ms profiled`];
  lines.push(`  by layer: ${summary.layers.slice(0, layersShown).map((l) => `${l.layer} ${pct(l.share)}`).join(', ')}`);
  lines.push('  top self time:');
  for (const f of summary.functions) lines.push(`    ${pct(f.share).padStart(6)}  ${f.selfMs.toFixed(1).padStart(8)} ms  ${f.name}  ${f.where}`);
  return lines;
}
