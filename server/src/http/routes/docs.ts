import type { IncomingMessage } from 'node:http';
import swaggerUi from 'swagger-ui-express';
import { buildAsyncApiDocument } from '../../../../protocol/asyncapi.js';
import type { Handlers } from '../dispatcher.js';
import { API_VERSION, buildOpenApiDocument } from '../openapi.js';

/** The scheme the client used: a proxy on this host says so in `X-Forwarded-Proto` (Express's `trust proxy: loopback`). */
function schemeOf(req: IncomingMessage): 'http' | 'https' {
  const address = req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '';
  const forwarded = req.headers['x-forwarded-proto'];
  if ((address.startsWith('127.') || address === '::1') && typeof forwarded === 'string') {
    return forwarded.split(',')[0]!.trim() === 'https' ? 'https' : 'http';
  }
  return 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
}

/**
 * The page of the socket events: the AsyncAPI React component's standalone
 * bundle (served by the app from the package, `/api/docs/asyncapi/*`) renders
 * `/api/asyncapi.json`. Links are relative to the `<base>`, so that the page
 * works at `/api/docs/asyncapi` and `/api/docs/asyncapi/`, and behind a proxy's
 * path prefix.
 */
function asyncApiPage(trailingSlash: boolean): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  ${trailingSlash ? '' : '<base href="asyncapi/">\n  '}<title>Herald socket events</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="default.min.css">
</head>
<body>
  <div id="asyncapi"></div>
  <script src="index.js"></script>
  <script>
    AsyncApiStandalone.render({ schema: { url: new URL('../../asyncapi.json', document.baseURI).href }, config: { show: { sidebar: true } } }, document.getElementById('asyncapi'));
  </script>
</body>
</html>
`;
}

/**
 * The two API documents and the pages that render them. Generating the
 * Swagger UI page also sets the `swagger-ui-init.js` that `swaggerUi.serve`
 * answers, so this runs before the app serves `/api/docs/*`.
 */
export function docsHandlers(): Pick<Handlers, 'getOpenApiDocument' | 'getAsyncApiDocument' | 'getApiDocsPage' | 'getAsyncApiDocsPage'> {
  const document = buildOpenApiDocument();
  // Swagger UI links its files relatively (`./swagger-ui.css`), which from `/api/docs` would lead to
  // `/api/…`: there the page says where its files are, so that it answers 200 itself instead of
  // redirecting. The base is relative, so a proxy's path prefix holds.
  const page = swaggerUi.generateHTML(document, { customSiteTitle: 'Herald API' });
  const pageWithBase = page.replace('<head>', '<head>\n  <base href="docs/">');
  const [asyncPage, asyncPageWithSlash] = [asyncApiPage(false), asyncApiPage(true)];
  return {
    getOpenApiDocument: () => document,
    // The socket events; their server is wherever the client reached this node (directly or through a proxy).
    getAsyncApiDocument: ({ req }) =>
      buildAsyncApiDocument({ host: req.headers.host ?? 'localhost', protocol: schemeOf(req) === 'https' ? 'wss' : 'ws', version: API_VERSION }),
    getApiDocsPage: ({ path }) => ({ contentType: 'text/html; charset=utf-8', text: path.endsWith('/') ? page : pageWithBase }),
    getAsyncApiDocsPage: ({ path }) => ({ contentType: 'text/html; charset=utf-8', text: path.endsWith('/') ? asyncPageWithSlash : asyncPage }),
  };
}
