import cors from 'cors';
import express, { type Express } from 'express';
import swaggerUi from 'swagger-ui-express';
import { createAuthenticate } from './authenticate.js';
import { rateLimit } from './rate-limit.js';
import type { HttpDeps } from './deps.js';
import { errorHandler, notFound } from './error-handler.js';
import { buildAsyncApiDocument } from '../../../protocol/asyncapi.js';
import { API_VERSION, buildOpenApiDocument } from './openapi.js';
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
  // The socket events; their server is wherever the client reached this node (directly or through a proxy).
  app.get('/api/asyncapi.json', (req, res) => {
    res.json(buildAsyncApiDocument({ host: req.get('host') ?? 'localhost', protocol: req.protocol === 'https' ? 'wss' : 'ws', version: API_VERSION }));
  });
  // One page for both addresses. Swagger UI links its files relatively (`./swagger-ui.css`), which
  // from `/api/docs` would lead to `/api/…`: there the page says where its files are, so that it
  // answers 200 itself instead of redirecting. The base is relative, so a proxy's path prefix holds.
  // (Generating the page also sets the `swagger-ui-init.js` that `swaggerUi.serve` answers.)
  const docsPage = swaggerUi.generateHTML(document, { customSiteTitle: 'Herald API' });
  const docsPageWithBase = docsPage.replace('<head>', '<head>\n  <base href="docs/">');
  app.get('/api/docs', (req, res) => {
    res.type('html').send(req.path.endsWith('/') ? docsPage : docsPageWithBase);
  });
  app.use('/api/docs', swaggerUi.serve);
  extra.static?.(app);

  // Browsers on other origins may call the API only when CORS_ORIGINS lists them.
  if (deps.config.corsOrigins) {
    app.use('/api', cors({ origin: [...deps.config.corsOrigins], exposedHeaders: ['Retry-After'], maxAge: 600 }));
  }
  // Publishing answers 503 while the node is overloaded, before its body is parsed (SPEC §8).
  app.post(['/api/notifications', '/api/notifications/batch'], (_req, _res, next) => {
    deps.edge.admitPublish();
    next();
  });
  app.use('/api', express.json({
      limit: deps.config.maxBodyBytes,
      strict: true,
      verify: (req, _res, buf) => {
        (req as express.Request).rawBody = buf;
      },
    }),);
  app.use('/api', createAuthenticate(deps.tokens), rateLimit(deps));
  app.use('/api', notificationRoutes(deps), meRoutes(deps), userRoutes(deps), adminRoutes(deps));
  app.use(notFound);
  app.use(errorHandler(deps.log));
  return app;
}
