import type { Handlers } from '../dispatcher.js';
import type { HttpDeps } from '../deps.js';

/** `POST /api/notifications` and `POST /api/notifications/batch`. */
export function notificationHandlers(deps: HttpDeps): Pick<Handlers, 'publishNotification' | 'publishBatch'> {
  return {
    publishNotification: ({ principal, body, headers, rawBody }) =>
      deps.notifications.publish(principal.userId, body, { key: headers['Idempotency-Key'], rawBody }),
    publishBatch: ({ principal, body, headers, rawBody }) =>
      deps.notifications.publishBatch(principal.userId, body, { key: headers['Idempotency-Key'], rawBody }),
  };
}
