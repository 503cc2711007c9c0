import cors from 'cors';
import express, { type Express } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { HttpDeps } from './deps.js';
import type { Dispatcher } from './dispatcher.js';
import { errorHandler, notFound } from './error-handler.js';

/**
 * The Express application the routes are mounted in: static files, the docs'
 * assets, CORS, and the requests that {@link Dispatcher.listener} leaves to it;
 * then one 404 and one error handler.
 */
export function createApp(deps: HttpDeps, dispatcher: Dispatcher, extra: { static?: (app: Express) => void } = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');

  extra.static?.(app);
  // Browsers on other origins may call the API only when CORS_ORIGINS lists them.
  if (deps.config.corsOrigins) {
    app.use('/api', cors({ origin: [...deps.config.corsOrigins], exposedHeaders: ['Retry-After'], maxAge: 600 }));
  }
  dispatcher.mount(app);
  app.use('/api/docs', swaggerUi.serve);
  app.use(notFound);
  app.use(errorHandler(deps.log));
  return app;
}
