import cors from 'cors';
import express, { type Express, type RequestHandler } from 'express';
import swaggerUi from 'swagger-ui-express';
import { HeraldError } from '../errors.js';
import { createAuthenticate, principalOf } from './authenticate.js';
import type { HttpDeps } from './deps.js';
import { errorHandler, notFound } from './error-handler.js';
import { buildOpenApiDocument } from './openapi.js';
import { adminRoutes } from './routes/admin.js';
import { meRoutes } from './routes/me.js';
import { notificationRoutes } from './routes/notifications.js';
import { opsRoutes } from './routes/ops.js';
import { userRoutes } from './routes/users.js';

/** The Express application: public routes, then the authenticated API, then one error handler. */
export function createApp(deps: HttpDeps, extra: { static?: (app: Express) => void } = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');

  app.use(opsRoutes(deps));
  const document = buildOpenApiDocument();
  app.get('/api/openapi.json', (_req, res) => {
    res.json(document);
  });
  app.use('/api/docs', swaggerUi.serve, swaggerUi.setup(document, { customSiteTitle: 'Herald API' }));
  extra.static?.(app);

  // Browsers on other origins may call the API only when CORS_ORIGINS lists them.
  if (deps.config.corsOrigins) {
    app.use('/api', cors({ origin: [...deps.config.corsOrigins], exposedHeaders: ['Retry-After'], maxAge: 600 }));
  }
  app.use('/api', express.json({
      limit: deps.config.maxBodyBytes,
      strict: true,
      verify: (req, _res, buf) => {
        (req as express.Request).rawBody = buf;
      },
    }),);
  app.use('/api', createAuthenticate(deps.verifier), rateLimit(deps));
  app.use('/api', notificationRoutes(deps), meRoutes(deps), userRoutes(deps), adminRoutes(deps));
  app.use(notFound);
  app.use(errorHandler(deps.log));
  return app;
}

/** Per-caller token bucket; 429 with `Retry-After` when it is empty. */
function rateLimit(deps: HttpDeps): RequestHandler {
  return async (req, _res, next) => {
    let wait: number;
    try {
      wait = await deps.rateLimiter.consume(principalOf(req).userId, deps.now());
    } catch (err) {
      // A shared limiter that cannot answer (Redis down) lets the request through:
      // the route then answers on its own (503 when it needs the same Redis).
      deps.log.warn({ err: (err as Error).message }, 'rate limiter unavailable');
      wait = 0;
    }
    next(wait > 0 ? new HeraldError('rate_limited', 'too many requests', undefined, wait) : undefined);
  };
}
