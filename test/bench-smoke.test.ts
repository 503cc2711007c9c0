import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TABLE_HEADER } from '../bench/lib/results.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The bench at tiny scale takes about 40 s here; past this it is stopped (SIGTERM: it stops its own children by PID). */
const BOUND_MS = 100_000;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `bench/run.ts` as `npm run bench` does, in a child process bounded in time. */
function runBench(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
      cwd: ROOT,
      // None of the caller's BENCH_* switches (experiments, profiling, scale) reach the smoke run.
      env: Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('BENCH_'))),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'), 10_000).unref();
    }, BOUND_MS);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('the benchmark (npm run bench)', () => {
  it(
    'runs every phase at tiny scale, exits 0 and prints its table, the ratios and the targets',
    async () => {
      const run = await runBench(['--scale', 'tiny']);
      expect(run.signal, `stopped after ${BOUND_MS / 1000} s:\n${run.stderr.slice(-3000)}`).toBeNull();
      expect(run.code, run.stderr.slice(-3000)).toBe(0);
      expect(run.stdout).toContain(`| ${TABLE_HEADER[0]}`);
      for (const name of TABLE_HEADER) expect(run.stdout).toContain(name);
      expect(run.stdout).toMatch(/^Herald\/ws: .*fan-out N=\d+ deliveries\/s \d+\.\d\d×/m);
      expect(run.stdout).toMatch(/^Herald\/Socket\.IO: .*fan-out N=\d+ deliveries\/s \d+\.\d\d×/m);
      expect(run.stdout).toMatch(/^Targets:$/m);
      for (const section of ['REST→client', 'publish', 'idle connections', 'admin stats', 'cluster 2 nodes']) expect(run.stdout).toContain(section);
    },
    BOUND_MS + 10_000,
  );
});
