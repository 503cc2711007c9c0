/**
 * `npm run bench`: Herald against bare Socket.IO and raw WebSockets, side by
 * side, in one run on loopback. Every server runs in its own child process (CPU
 * and memory from /proc), the clients in other processes, each phase is bounded
 * in time, and every process started is stopped by PID at the end or on SIGINT.
 *
 *   npm run bench                          # full sizes (a few minutes); writes bench/RESULTS.md
 *   npm run bench -- --scale tiny          # tiny sizes (under a minute), as the smoke test runs it
 *   npm run bench -- --phases fanout,memory
 *   BENCH_PROFILE=1 npm run bench          # + CPU profiles of the measured windows, heap snapshots (bench/profiles/)
 *   npm run bench -- --phases publish --baseline HEAD~1   # publishing, and head to head with the previous commit
 *
 * Options (or environment): --scale full|tiny (BENCH_SCALE), --phases a,b (BENCH_PHASES;
 * fanout, rest, publish, memory, cluster, storm), --results FILE (default bench/RESULTS.md
 * at full scale, none at tiny), --no-results, --baseline REV (BENCH_BASELINE: a git revision,
 * or a built dist/server/main.mjs, that the publish phase measures beside this build).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { installExitHandlers, runningPids, stopAll, wasInterrupted } from './lib/children.js';
import { PHASES, profileDirOf, QUIET_BUDGET_MS, SCALES, type Context, type PhaseName, type Scale } from './lib/context.js';
import { describeMachine } from './lib/machine.js';
import { fileLimit, loadAverage } from './lib/proc.js';
import { renderResults, Results } from './lib/results.js';
import { ROOT } from './lib/servers.js';
import { prepareBaseline } from './lib/baseline.js';
import { clusterPhase } from './phases/cluster.js';
import { fanoutPhase } from './phases/fanout.js';
import { memoryPhase } from './phases/memory.js';
import { HEAD_TO_HEAD_ROUNDS, publishPhase } from './phases/publish.js';
import { restPhase } from './phases/rest.js';
import { stormPhase } from './phases/storm.js';

const RUNNERS: Record<PhaseName, (ctx: Context) => Promise<void>> = {
  fanout: fanoutPhase,
  rest: restPhase,
  publish: publishPhase,
  memory: memoryPhase,
  cluster: clusterPhase,
  storm: stormPhase,
};

const BEGIN = '<!-- bench:begin (written by `npm run bench`; edit outside these markers) -->';
const END = '<!-- bench:end -->';

interface Args {
  scale: Scale;
  phases: PhaseName[];
  resultsFile: string | undefined;
  baseline: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const take = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    if (i >= 0) return argv[i + 1];
    return argv.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
  };
  const scaleName = take('--scale') ?? process.env.BENCH_SCALE ?? 'full';
  if (scaleName !== 'full' && scaleName !== 'tiny') throw new Error(`--scale must be full or tiny, not ${scaleName}`);
  const phaseList = take('--phases') ?? process.env.BENCH_PHASES;
  const phases = phaseList ? phaseList.split(',').map((p) => p.trim()) : [...PHASES];
  for (const p of phases) if (!(PHASES as readonly string[]).includes(p)) throw new Error(`unknown phase ${p}; phases: ${PHASES.join(', ')}`);
  const explicit = take('--results');
  const resultsFile = argv.includes('--no-results')
    ? undefined
    : explicit
      ? path.resolve(explicit)
      : scaleName === 'full'
        ? path.join(ROOT, 'bench', 'RESULTS.md')
        : undefined;
  return { scale: SCALES[scaleName], phases: phases as PhaseName[], resultsFile, baseline: take('--baseline') ?? process.env.BENCH_BASELINE };
}

/** Rejects after `ms`; the caller then stops every child, which ends the phase's own work. */
function deadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function writeResults(file: string, block: string): void {
  const generated = `${BEGIN}\n${block}\n${END}`;
  let text: string;
  if (existsSync(file)) {
    const current = readFileSync(file, 'utf8');
    const from = current.indexOf(BEGIN);
    const to = current.indexOf(END);
    text = from >= 0 && to > from ? current.slice(0, from) + generated + current.slice(to + END.length) : `${current.trimEnd()}\n\n${generated}\n`;
  } else {
    text = `# Herald benchmark results\n\n${generated}\n`;
  }
  writeFileSync(file, text);
}

async function main(): Promise<void> {
  installExitHandlers();
  const args = parseArgs(process.argv.slice(2));
  const results = new Results();
  const started = new Date();
  const loadAtStart = loadAverage();
  const log = (line: string) => process.stderr.write(`[${((Date.now() - started.getTime()) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);
  const ctx: Context = {
    scale: args.scale,
    results,
    profile: process.env.BENCH_PROFILE === '1',
    profileDir: profileDirOf(),
    log,
    allPids: () => [process.pid, ...runningPids()],
    quietBudgetMs: args.scale.quietMaxMs > 0 ? QUIET_BUDGET_MS : 0,
    ...(args.baseline ? { baseline: prepareBaseline(args.baseline) } : {}),
  };
  const command = ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
  const env = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v} `)
    .join('');
  log(`Herald benchmark, scale ${args.scale.name}, phases ${args.phases.join(', ')}${ctx.profile ? ', profiling' : ''}`);
  for (const name of ['BENCH_HERALD_ENTRY', 'BENCH_HERALD_NODE_ARGS', 'BENCH_DATA_DIR'] as const) {
    if (process.env[name]) results.notes.push(`EXPERIMENT: ${name}=${process.env[name]}: these are not Herald's own figures`);
  }
  const limit = fileLimit();
  if (limit.soft < 40_000) {
    log(`note: open-file limit ${limit.soft} per process (hard ${limit.hard}); clients are spread over several processes, and a server can hold at most about ${limit.soft - 200} connections`);
  }
  for (const phase of args.phases) {
    if (wasInterrupted()) break;
    const t = Date.now();
    const load = loadAverage();
    try {
      // With a baseline, the publish phase also runs its head-to-head rounds.
      const limit = args.scale.phaseTimeoutMs[phase] * (phase === 'publish' && ctx.baseline ? 1 + HEAD_TO_HEAD_ROUNDS / 2 : 1);
      await deadline(RUNNERS[phase](ctx), limit, `phase ${phase}`);
    } catch (err) {
      results.failures.push(`${phase}: ${(err as Error).message}`);
      log(`phase ${phase} failed: ${(err as Error).stack ?? String(err)}`);
      await stopAll(2000);
    }
    log(`phase ${phase}: ${((Date.now() - t) / 1000).toFixed(1)} s (load average at start ${load.toFixed(2)})`);
  }
  if (wasInterrupted()) return;
  const seconds = (Date.now() - started.getTime()) / 1000;
  const lines = [
    `Herald benchmark — ${started.toISOString()} — scale ${args.scale.name} — ${seconds.toFixed(0)} s`,
    '',
    ...renderResults(results),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
  if (results.profiles.length > 0) process.stdout.write(`\nProfiles:\n${results.profiles.join('\n\n')}\n`);
  if (args.resultsFile) {
    const block = [
      `## Run of ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
      '',
      `Command: \`${env}${command}\` (scale ${args.scale.name}, ${seconds.toFixed(0)} s${ctx.profile ? ', with CPU profiling: numbers slightly lower than without' : ''})`,
      '',
      ...describeMachine(loadAtStart),
      '',
      ...renderResults(results),
      ...(results.profiles.length > 0 ? ['', '### Profiles of this run', '', '```', results.profiles.join('\n\n'), '```'] : []),
    ].join('\n');
    writeResults(args.resultsFile, block);
    log(`results written to ${path.relative(process.cwd(), args.resultsFile)}`);
  }
  await stopAll(3000);
  // Exit now rather than when the last keep-alive socket times out.
  process.stdout.write('', () => process.exit(results.failures.length > 0 ? 1 : 0));
}

main().catch(async (err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  await stopAll(2000);
  process.exit(1);
});
