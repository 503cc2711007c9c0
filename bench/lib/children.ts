/**
 * Every process the benchmark starts, tracked by PID: each phase stops what it
 * started, and whatever is still alive is killed by PID when the run ends, fails,
 * or is interrupted (SIGINT/SIGTERM). Nothing is ever killed by name.
 */
import { fork, spawn, type ChildProcess, type ForkOptions, type SpawnOptions } from 'node:child_process';

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** Resolves with how it ended ("code 0", "SIGKILL", or the spawn error). */
  readonly exited: Promise<string>;
  /** The last few kilobytes of its stdout and stderr, for error messages. */
  output(): string;
}

const running = new Set<Child>();
const cleanups = new Set<() => void>();
let interrupted = false;

const alive = (child: Child) => child.process.exitCode === null && child.process.signalCode === null;

function track(name: string, proc: ChildProcess): Child {
  if (proc.pid === undefined) throw new Error(`${name}: could not start`);
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-8192);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<string>((resolve) => {
    proc.once('error', (err) => resolve(err.message));
    proc.once('exit', (code, signal) => resolve(signal ?? `code ${code}`));
  });
  const child: Child = { name, process: proc, pid: proc.pid, exited, output: () => tail };
  running.add(child);
  void exited.then(() => running.delete(child));
  return child;
}

/** Spawns a command with piped output. */
export function spawnChild(name: string, command: string, args: string[], opts: SpawnOptions = {}): Child {
  return track(name, spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts }));
}

/** Forks a TypeScript module (through tsx) with an IPC channel. */
export function forkChild(name: string, modulePath: string, args: string[] = [], opts: ForkOptions = {}): Child {
  return track(name, fork(modulePath, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'], ...opts }));
}

/** SIGTERM by PID, then SIGKILL if it has not exited within `ms`. */
export async function stopChild(child: Child, ms = 5000): Promise<void> {
  if (!alive(child)) return;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => alive(child) && child.process.kill('SIGKILL'), ms);
  await child.exited;
  clearTimeout(timer);
}

/** Stops every child still running. */
export async function stopAll(ms = 5000): Promise<void> {
  await Promise.all([...running].map((child) => stopChild(child, ms)));
}

/** PIDs of the children alive now. */
export function runningPids(): number[] {
  return [...running].filter(alive).map((c) => c.pid);
}

/** Runs `fn` when the benchmark ends by any path (temporary folders, a Redis server). */
export function onCleanup(fn: () => void): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

function killAllNow(): void {
  for (const child of running) if (alive(child)) child.process.kill('SIGKILL');
  for (const fn of cleanups) {
    try {
      fn();
    } catch {
      // best effort at exit: the next cleanup still runs
    }
  }
  cleanups.clear();
}

/** Whether SIGINT or SIGTERM arrived: phases stop early. */
export const wasInterrupted = () => interrupted;

/** On SIGINT/SIGTERM: stop every child by PID, run the cleanups, exit 130. On any exit: SIGKILL leftovers. */
export function installExitHandlers(): void {
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      process.stderr.write(`\nbench: ${signal}: stopping every process it started…\n`);
      const force = setTimeout(() => process.exit(130), 8000);
      void stopAll(3000).finally(() => {
        clearTimeout(force);
        process.exit(130);
      });
    });
  }
}
