import { timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import { bearerToken } from '../../auth/token-verifier.js';
import { HeraldError } from '../../errors.js';
import type { HttpDeps } from '../deps.js';

const sameSecret = (given: string, expected: string) => {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

/** Liveness, readiness and Prometheus metrics. */
export function opsRoutes(deps: HttpDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    if (!deps.accepting()) throw new HeraldError('unavailable', 'shutting down');
    try {
      await deps.store.check();
    } catch (err) {
      deps.log.warn({ err }, 'readiness check failed');
      throw new HeraldError('unavailable', 'the store is not available');
    }
    res.json({ status: 'ready', store: 'ok' });
  });
  router.get('/metrics', async (req, res) => {
    const token = deps.config.metricsToken;
    if (token !== undefined) {
      const presented = bearerToken(req.get('authorization'));
      if (presented === undefined) throw new HeraldError('token_missing', 'metrics need the METRICS_TOKEN as a bearer token');
      if (!sameSecret(presented, token)) throw new HeraldError('token_invalid', 'wrong metrics token');
    }
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  return router;
}
