import { Router, type Request } from 'express';
import type { IdempotencyInput } from '../../domain/notification-service.js';
import { canPublish } from '../../auth/principal.js';
import { principalOf, requireRole } from '../authenticate.js';
import type { HttpDeps } from '../deps.js';

const idempotencyOf = (req: Request): IdempotencyInput => ({ key: req.get('Idempotency-Key'), rawBody: req.rawBody ?? Buffer.alloc(0) });

/** `POST /api/notifications` and `POST /api/notifications/batch`. */
export function notificationRoutes(deps: HttpDeps): Router {
  const router = Router();
  router.use('/notifications', requireRole(canPublish, 'the publisher or admin role'));
  router.post('/notifications', async (req, res) => {
    const reply = await deps.notifications.publish(principalOf(req).userId, req.body, idempotencyOf(req));
    res.status(reply.status).json(reply.body);
  });
  router.post('/notifications/batch', async (req, res) => {
    const reply = await deps.notifications.publishBatch(principalOf(req).userId, req.body, idempotencyOf(req));
    res.status(reply.status).json(reply.body);
  });
  return router;
}
