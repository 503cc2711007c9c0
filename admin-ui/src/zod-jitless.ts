/**
 * The page runs under a Content-Security-Policy without `unsafe-eval` (and with
 * Trusted Types): zod must not try `new Function` to compile its parsers, or the
 * browser reports a violation. Imported first by main.ts, so that this holds
 * before any schema of protocol/ is built.
 */
import { z } from 'zod';

z.config({ jitless: true });
