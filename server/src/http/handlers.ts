import type { HttpDeps } from './deps.js';
import type { Handlers } from './dispatcher.js';
import { adminHandlers } from './routes/admin.js';
import { docsHandlers } from './routes/docs.js';
import { meHandlers } from './routes/me.js';
import { notificationHandlers } from './routes/notifications.js';
import { opsHandlers } from './routes/ops.js';
import { userHandlers } from './routes/users.js';

/** A handler for each route of the table, from the groups in `routes/`. */
export function routeHandlers(deps: HttpDeps): Handlers {
  return {
    ...notificationHandlers(deps),
    ...meHandlers(deps),
    ...userHandlers(deps),
    ...adminHandlers(deps),
    ...opsHandlers(deps),
    ...docsHandlers(),
  };
}
