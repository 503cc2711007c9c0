// What the admin UI's build (build-admin.mjs) and the server's bundle
// (build-server.mjs) share: when a build is stale, and how it replaces the old one.
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

/** The newest modification time under `dir`, skipping builds and hidden folders. */
export function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'dist' || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return latest;
}

/**
 * Runs `build(staging)` into a folder next to `dist`, then swaps it in, so that
 * a server never loads a half-written folder and two builds at once cannot mix
 * their files. `prefix` names the staging folders (`<prefix><pid>`, `<prefix>old-<pid>`).
 */
export async function buildSwapped(dist, prefix, build) {
  const staging = `${prefix}${process.pid}`;
  try {
    await build(staging);
    const old = `${prefix}old-${process.pid}`;
    if (existsSync(dist)) renameSync(dist, old);
    try {
      renameSync(staging, dist);
    } catch (err) {
      // Another build finished first and its dist is as fresh as ours.
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    }
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
