import { createRequire } from 'node:module';
import path from 'node:path';
import cors from 'cors';
import express, { type Express } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { HttpDeps } from './deps.js';
import type { Dispatcher } from './dispatcher.js';
import { errorHandler, notFound } from './error-handler.js';

const viewer = path.dirname(createRequire(import.meta.url).resolve('@asyncapi/react-component/package.json'));
/** The folders of the AsyncAPI React component's standalone bundle (`index.js`) and its styles (`default.min.css`). */
const ASYNCAPI_VIEWER = { script: path.join(viewer, 'browser/standalone'), styles: path.join(viewer, 'styles') };

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
  // The AsyncAPI viewer's two files, from its package (as Swagger UI's come from swagger-ui-express).
  app.use('/api/docs/asyncapi', express.static(ASYNCAPI_VIEWER.script, { index: false }), express.static(ASYNCAPI_VIEWER.styles, { index: false }));
  app.use('/api/docs', swaggerUi.serve);
  app.use(notFound);
  app.use(errorHandler(deps.log));
  return app;
}
