/** The sizes of a run, and what every phase receives. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CpuProfile, Inspector } from './inspector.js';
import { waitForQuiet } from './proc.js';
import { formatSummary, summarize } from './profile-summary.js';
import type { Baseline } from './baseline.js';
import type { Results } from './results.js';
import { ROOT } from './servers.js';

export interface Scale {
  name: 'full' | 'tiny';
  fanout: {
    ns: number[];
    /** Client processes per server. */
    workers: number;
    /** Messages in flight during the throughput windows. */
    window: number;
    /** Measured windows per server, alternating between the servers. */
    rounds: number;
    warmupMs: number;
    measureMs: number;
    /** The window with one message in flight at a time. */
    unloadedMs: number;
    settleMs: number;
  };
  rest: { clients: number; rate: number; warmupMs: number; measureMs: number };
  publish: { connections: number; warmupSec: number; seconds: number };
  memory: { ns: number[]; settleMs: number };
  adminTick: { intervalMs: number; measureMs: number };
  cluster: { n: number; window: number; warmupMs: number; measureMs: number };
  /** Sockets, notifications stored before the kill and published during the storm, and how long any wait may take. */
  storm: { n: number; stored: number; during: number; rounds: number; timeoutMs: number };
  /** How long a measurement may wait for other work on the machine to calm down. */
  quietMaxMs: number;
  /** Upper bound of each phase, in milliseconds. */
  phaseTimeoutMs: Record<PhaseName, number>;
}

/** BENCH_FANOUT_WORKERS: client processes per server in the fan-out (a whole number from 1, default 1). */
function fanoutWorkers(): number {
  const value = Number(process.env.BENCH_FANOUT_WORKERS ?? 1);
  if (!Number.isInteger(value) || value < 1) throw new Error(`BENCH_FANOUT_WORKERS must be a whole number from 1, not "${process.env.BENCH_FANOUT_WORKERS}"`);
  return value;
}

function stormSockets(): number {
  const value = Number(process.env.BENCH_STORM_N ?? 10_000);
  if (!Number.isInteger(value) || value < 1) throw new Error(`BENCH_STORM_N must be a whole number from 1, not "${process.env.BENCH_STORM_N}"`);
  return value;
}

export const PHASES = ['fanout', 'rest', 'publish', 'memory', 'cluster', 'storm'] as const;
export type PhaseName = (typeof PHASES)[number];

export const SCALES: Record<Scale['name'], Scale> = {
  full: {
    name: 'full',
    fanout: { ns: [1000, 5000], workers: fanoutWorkers(), window: 4, rounds: 5, warmupMs: 700, measureMs: 2000, unloadedMs: 2000, settleMs: 500 },
    rest: { clients: 5000, rate: 500, warmupMs: 2000, measureMs: 20_000 },
    publish: { connections: 32, warmupSec: 2, seconds: 10 },
    memory: { ns: [5000, 20_000], settleMs: 1500 },
    adminTick: { intervalMs: 100, measureMs: 5000 },
    cluster: { n: 5000, window: 4, warmupMs: 2000, measureMs: 6000 },
    storm: { n: stormSockets(), stored: 5000, during: 1000, rounds: Number(process.env.BENCH_STORM_ROUNDS ?? 2), timeoutMs: 120_000 },
    quietMaxMs: 10_000,
    phaseTimeoutMs: { fanout: 300_000, rest: 90_000, publish: 90_000, memory: 240_000, cluster: 150_000, storm: 600_000 },
  },
  tiny: {
    name: 'tiny',
    fanout: { ns: [20, 50], workers: 1, window: 2, rounds: 1, warmupMs: 100, measureMs: 300, unloadedMs: 200, settleMs: 50 },
    rest: { clients: 50, rate: 100, warmupMs: 100, measureMs: 500 },
    publish: { connections: 8, warmupSec: 0, seconds: 1 },
    memory: { ns: [100, 200], settleMs: 100 },
    adminTick: { intervalMs: 50, measureMs: 500 },
    cluster: { n: 40, window: 2, warmupMs: 100, measureMs: 400 },
    storm: { n: 100, stored: 100, during: 100, rounds: 1, timeoutMs: 30_000 },
    quietMaxMs: 0,
    phaseTimeoutMs: { fanout: 40_000, rest: 25_000, publish: 25_000, memory: 30_000, cluster: 40_000, storm: 60_000 },
  },
};

export interface Context {
  scale: Scale;
  results: Results;
  /** BENCH_PROFILE=1: CPU profiles of measured windows, heap snapshots of the memory phase. */
  profile: boolean;
  profileDir: string;
  log(line: string): void;
  /** PIDs of every process of the benchmark alive now (driver included), for the machine-load figure. */
  allPids(): number[];
  /** Milliseconds of the run still available for waiting on other load (shared by every measurement). */
  quietBudgetMs: number;
  /** `--baseline REV`: another build of Herald that the publish phase runs head to head with this one. */
  baseline?: Baseline;
}

/** How long one run may wait in all for other load to leave the cores. */
export const QUIET_BUDGET_MS = 90_000;

/**
 * Before a measured window: waits, within `quietMaxMs` per window and a budget
 * of QUIET_BUDGET_MS per run, until other load leaves the cores alone.
 */
export async function quiet(ctx: Context, what: string): Promise<void> {
  const started = Date.now();
  const cores = await waitForQuiet(() => ctx.allPids(), Math.min(ctx.scale.quietMaxMs, ctx.quietBudgetMs), 0.3, (c) =>
    ctx.log(`  waiting before ${what}: other load takes ${c.toFixed(2)} cores`),
  );
  ctx.quietBudgetMs = Math.max(0, ctx.quietBudgetMs - (Date.now() - started));
  if (cores >= 0.3) ctx.log(`  measuring ${what} anyway: other load still takes ${cores.toFixed(2)} cores`);
}

export function profileDirOf(): string {
  return path.join(ROOT, 'bench', 'profiles');
}

/**
 * Profiles `inspector`'s process around a measured window when profiling is on:
 * the profile goes to bench/profiles/<name>.cpuprofile and its summary to the results.
 */
export function profiler(ctx: Context, inspector: Inspector, name: string, intervalMicros = 100): { start(): Promise<void>; stop(): Promise<CpuProfile | undefined> } {
  return {
    start: async () => {
      if (ctx.profile) await inspector.startProfile(intervalMicros);
    },
    stop: async () => {
      if (!ctx.profile) return undefined;
      const profile = await inspector.stopProfile();
      mkdirSync(ctx.profileDir, { recursive: true });
      const file = path.join(ctx.profileDir, `${name}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      const lines = formatSummary(`${name} (${path.relative(ROOT, file)})`, summarize(profile, 12));
      ctx.results.profiles.push(lines.join('\n'));
      ctx.log(lines.join('\n'));
      return profile;
    },
  };
}

export { setTimeout as sleep } from 'node:timers/promises';
