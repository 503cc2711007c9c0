/**
 * Herald's processes (test/herald-process.ts, the benchmark, the soak, `npm run
 * cluster`) run the server as `npm start` and the Docker image do: from the
 * bundle of scripts/build-server.mjs, with the flags of server/src/node-flags.ts.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The server's entry in the bundle (relative to the project's folder). */
export const SERVER_BUNDLE = 'dist/server/main.mjs';

const built = new Set<string>();

/**
 * Builds a bundle when it is missing or older than its sources; fast when it is
 * fresh, and done once per process. By default Herald's server; `entry` names
 * another entry (a bare server of the benchmark), bundled into `out`.
 *
 * @example
 * ensureBundle();
 * spawn(process.execPath, [...NODE_FLAGS, SERVER_BUNDLE], { cwd: ROOT });
 */
export function ensureBundle(opts: { entry?: string; out?: string } = {}): void {
  const args = opts.entry ? ['--entry', opts.entry, '--out', opts.out ?? 'dist/bench'] : [];
  const key = args.join(' ');
  if (built.has(key)) return;
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-server.mjs'), '--quiet', ...args], { cwd: ROOT, stdio: 'inherit' });
  built.add(key);
}
