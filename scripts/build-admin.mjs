#!/usr/bin/env node
// Builds the admin UI (admin-ui/ → admin-ui/dist/, served at /admin/) when the
// build is missing or older than its sources. Run by `npm install` (postinstall),
// `npm start` (prestart), `npm test` and Playwright's global setup; with vite
// absent (devDependencies omitted) it does nothing and says so.
//
//   node scripts/build-admin.mjs [--force] [--quiet]
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSwapped, newest } from './build-swap.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const ui = path.join(root, 'admin-ui');
const dist = path.join(ui, 'dist');
const force = process.argv.includes('--force');
const quiet = process.argv.includes('--quiet');
const say = (line) => quiet || process.stdout.write(`admin UI: ${line}\n`);

// The server's event maps are part of the UI's types only; a change there cannot change
// the bundle, so the UI's own files and protocol/ (bundled with them) decide freshness.
function isFresh() {
  const built = path.join(dist, 'index.html');
  return existsSync(built) && statSync(built).mtimeMs >= Math.max(newest(ui), newest(path.join(root, 'protocol')));
}

if (!existsSync(ui)) process.exit(0);
if (!force && isFresh()) process.exit(0);

let vite;
try {
  vite = await import('vite');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  say(existsSync(dist) ? 'vite is not installed; keeping the existing build' : 'vite is not installed (devDependencies omitted); /admin/ will not be served');
  process.exit(0);
}

const started = Date.now();
await buildSwapped(dist, path.join(ui, '.dist-'), (staging) =>
  vite.build({
    configFile: path.join(ui, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: staging, emptyOutDir: true },
  }),
);
say(`built in ${((Date.now() - started) / 1000).toFixed(1)} s → admin-ui/dist`);
