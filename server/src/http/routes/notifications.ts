import { Router } from 'express';
import { canPublish } from '../../auth/principal.js';
import { principalOf, requireRole } from '../authenticate.js';
import type { HttpDeps } from '../deps.js';

/** `POST /api/notifications` and `POST /api/notifications/batch`. */
export function notificationRoutes(deps: HttpDeps): Router {
  const router = Router();
  router.use('/notifications', requireRole(canPublish, 'the publisher or admin role'));
  router.post('/notifications', async (req, res) => {
    const reply = await deps.notifications.publish(principalOf(req).userId, req.body, req.get('Idempotency-Key'));
    res.status(reply.status).json(reply.body);
  });
  router.post('/notifications/batch', async (req, res) => {
    const reply = await deps.notifications.publishBatch(principalOf(req).userId, req.body, req.get('Idempotency-Key'));
    res.status(reply.status).json(reply.body);
  });
  return router;
}
