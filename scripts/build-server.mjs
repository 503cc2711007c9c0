#!/usr/bin/env node
// Bundles the server (server/src/ → dist/server/main.mjs, with the SQLite
// writer thread's entry beside it) when the bundle is missing or older than its
// sources. Run by `npm start` (prestart), the test suites' global set-up, the
// benchmark, the soak and `npm run cluster`; the Dockerfile runs it in its build
// stage.
//
// Why a bundle: a node restarted under a reconnect storm must listen as soon as
// it can, since every client's backoff grows while it is down. From the
// TypeScript sources through tsx, start-up took about 1.2 s here (1.7-1.9 s
// under a storm of 10,000 sockets); from the bundle about 0.7 s (0.8-1.0 s).
// Packages stay external (node_modules is resolved as usual), so the bundle
// holds only Herald's own modules.
//
//   node scripts/build-server.mjs [--force] [--quiet]
//   node scripts/build-server.mjs --entry bench/servers/socketio-server.ts --out dist/bench
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildSwapped, newest } from './build-swap.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};
const force = process.argv.includes('--force');
const quiet = process.argv.includes('--quiet');
const say = (line) => quiet || process.stdout.write(`server: ${line}\n`);

// Herald's two entries, or one named entry (the benchmark's bare servers, built the same way for a fair start-up).
const entry = arg('--entry');
const entryPoints = entry
  ? { [path.basename(entry, path.extname(entry))]: path.join(root, entry) }
  : { main: path.join(root, 'server/src/main.ts'), 'writer-thread-main': path.join(root, 'server/src/store/sqlite/writer-thread-main.ts') };
const dist = path.join(root, arg('--out') ?? 'dist/server');
// protocol/ (the contract as code) is bundled with the server's sources.
const own = [path.join(root, 'server/src'), path.join(root, 'protocol')];
const sources = entry ? [path.dirname(path.join(root, entry)), ...own] : own;
const first = path.join(dist, `${Object.keys(entryPoints)[0]}.mjs`);

const inputs = () => Math.max(statSync(path.join(root, 'package-lock.json')).mtimeMs, ...sources.map(newest));
if (!force && existsSync(first) && statSync(first).mtimeMs >= inputs()) process.exit(0);

const started = Date.now();
await buildSwapped(dist, `${dist}.`, (staging) =>
  build({
    entryPoints,
    outdir: staging,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Stack traces name the TypeScript sources (node runs it with --enable-source-maps, server/src/node-flags.ts).
    sourcemap: 'linked',
    logLevel: 'warning',
  }),
);
say(`built in ${Date.now() - started} ms → ${path.relative(root, dist)}`);
