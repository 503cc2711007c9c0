/**
 * Another build of Herald to measure beside this one in the same run
 * (`--baseline REV`): a git revision is checked out into a temporary worktree,
 * given this checkout's node_modules and bundled there, so that the previous
 * commit and this one answer the same load on the same machine at the same moment.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onCleanup } from './children.js';
import { ROOT } from './servers.js';

export interface Baseline {
  /** What was asked for, with the commit it resolved to: `HEAD~1 (cf3ae3b)`. */
  readonly label: string;
  /** The server's bundle (absolute), to start in Herald's place. */
  readonly bundle: string;
  /** The folder to start it in (its own admin-ui/dist and node_modules). */
  readonly cwd: string;
}

const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

/**
 * Builds `rev` (a commit, tag or `HEAD~1`), or takes a bundle that is already
 * built when `rev` names a `.mjs` file. The worktree is removed when the run ends.
 *
 * @example
 * const previous = prepareBaseline('HEAD~1');
 * await startHerald({ build: previous, name: 'previous' });
 */
export function prepareBaseline(rev: string): Baseline {
  if (rev.endsWith('.mjs')) {
    const bundle = path.resolve(rev);
    if (!existsSync(bundle)) throw new Error(`--baseline: ${bundle} does not exist`);
    return { label: path.relative(ROOT, bundle), bundle, cwd: path.resolve(path.dirname(bundle), '../..') };
  }
  const commit = git('rev-parse', '--verify', `${rev}^{commit}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'herald-baseline-'));
  git('worktree', 'add', '--detach', '--quiet', dir, commit);
  onCleanup(() => {
    try {
      git('worktree', 'remove', '--force', dir);
    } catch {
      rmSync(dir, { recursive: true, force: true });
      git('worktree', 'prune');
    }
  });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  execFileSync(process.execPath, ['scripts/build-server.mjs', '--force', '--quiet'], { cwd: dir, stdio: 'inherit' });
  const short = commit.slice(0, 7);
  return { label: commit.startsWith(rev) ? short : `${rev} (${short})`, bundle: path.join(dir, 'dist/server/main.mjs'), cwd: dir };
}
