import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The admin UI build: plain files the Herald server serves at `/admin/` under a
 * strict Content-Security-Policy, so the HTML must reference its script and
 * stylesheet as files (no inline script, no inline style, no data: URIs).
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/admin/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    rollupOptions: {
      // zod (the route table's schemas) carries esbuild-style purity comments that Rollup drops with a notice.
      onwarn(warning, warn) {
        if (warning.code === 'INVALID_ANNOTATION' && warning.id?.includes('/node_modules/zod/')) return;
        warn(warning);
      },
    },
  },
  server: {
    // `npx vite admin-ui` during UI work: the API and socket of a Herald on :3000.
    proxy: {
      '/api': 'http://localhost:3000',
      '/socket.io': { target: 'http://localhost:3000', ws: true },
    },
  },
});
