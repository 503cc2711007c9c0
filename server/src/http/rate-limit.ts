import { HeraldError } from '../errors.js';
import type { HttpDeps } from './deps.js';

/** The 429 for a caller whose token bucket is empty, or undefined when the request may go on. */
export async function rateLimited(deps: Pick<HttpDeps, 'rateLimiter' | 'now' | 'log'>, userId: string): Promise<HeraldError | undefined> {
  let wait: number;
  try {
    wait = await deps.rateLimiter.consume(userId, deps.now());
  } catch (err) {
    // A shared limiter that cannot answer (Redis down) lets the request through:
    // the route then answers on its own (503 when it needs the same Redis).
    deps.log.warn({ err: (err as Error).message }, 'rate limiter unavailable');
    wait = 0;
  }
  return wait > 0 ? new HeraldError('rate_limited', 'too many requests', undefined, wait) : undefined;
}
