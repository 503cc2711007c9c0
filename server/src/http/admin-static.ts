import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express, type RequestHandler } from 'express';

/**
 * The project's folder: the nearest one above this module that holds
 * package.json. This module runs from server/src/http/ (tsx, tests) and from
 * the bundle in dist/server/ (`npm start`), so no fixed number of `..` fits both.
 */
function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** Where `vite build` puts the admin UI (see scripts/build-admin.mjs). */
export const ADMIN_UI_DIST = path.join(projectRoot(), 'admin-ui', 'dist');

/**
 * The admin UI's Content-Security-Policy: its own scripts and styles only (the
 * built HTML has no inline script or style), the API and the socket on the same
 * origin only, and Trusted Types, so that no string can ever reach an HTML sink
 * such as `innerHTML`: user-supplied text can only be rendered as text.
 */
export const ADMIN_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', ADMIN_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // The sign-in link carries the token in the fragment, which is never sent; no referrer either way.
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  next();
};

/**
 * Serves the built admin UI at `/admin/` (and redirects `/admin` there). Hashed
 * assets are cached for a year; `index.html` is revalidated on every load.
 *
 * @example
 * createApp(deps, { static: adminStatic() });
 */
export function adminStatic(opts: { distDir?: string } = {}): (app: Express) => void {
  const distDir = opts.distDir ?? ADMIN_UI_DIST;
  return (app) => {
    app.get('/admin', (req, res, next) => {
      // Non-strict routing also sends `/admin/` here; only the bare path is redirected.
      if (req.path !== '/admin') return next();
      const query = req.originalUrl.slice(req.path.length);
      res.redirect(301, `/admin/${query}`);
    });
    app.use(
      '/admin',
      securityHeaders,
      express.static(distDir, {
        index: 'index.html',
        redirect: false,
        setHeaders(res, file) {
          const immutable = file.includes(`${path.sep}assets${path.sep}`);
          res.setHeader('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
        },
      }),
      (req, res, next) => {
        if (req.path !== '/' && req.path !== '/index.html') return next();
        if (existsSync(path.join(distDir, 'index.html'))) return next();
        res
          .status(503)
          .type('text/plain')
          .send('The admin UI is not built. Run `node scripts/build-admin.mjs` (npm install and npm start do it).\n');
      },
    );
  };
}
