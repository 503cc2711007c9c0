import { timingSafeEqual } from 'node:crypto';
import { bearerToken } from '../../auth/token-verifier.js';
import { HeraldError } from '../../errors.js';
import type { Handlers } from '../dispatcher.js';
import type { HttpDeps } from '../deps.js';

const sameSecret = (given: string, expected: string) => {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

/** Liveness, readiness and Prometheus metrics. */
export function opsHandlers(deps: HttpDeps): Pick<Handlers, 'getHealth' | 'getReadiness' | 'getMetrics'> {
  return {
    getHealth: () => ({ status: 'ok' }),
    getReadiness: async () => {
      if (!deps.accepting()) throw new HeraldError('unavailable', 'shutting down');
      try {
        await deps.store.check();
      } catch (err) {
        deps.log.warn({ err }, 'readiness check failed');
        throw new HeraldError('unavailable', 'the store is not available');
      }
      return { status: 'ready', store: 'ok' };
    },
    getMetrics: async ({ req }) => {
      const token = deps.config.metricsToken;
      if (token !== undefined) {
        const presented = bearerToken(req.headers.authorization);
        if (presented === undefined) throw new HeraldError('token_missing', 'metrics need the METRICS_TOKEN as a bearer token');
        if (!sameSecret(presented, token)) throw new HeraldError('token_invalid', 'wrong metrics token');
      }
      return { contentType: deps.metrics.registry.contentType, text: await deps.metrics.registry.metrics() };
    },
  };
}
